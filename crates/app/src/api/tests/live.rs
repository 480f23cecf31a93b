//! The live feed: over a real loopback socket, and the fan-out alone.

use super::*;

/// The live feed over a real socket: filtered server-side, counters
/// sampling-corrected, and a client that falls behind is closed with a
/// reason while the pipeline carries on.
#[test]
fn the_live_feed_filters_and_drops_slow_clients() {
    use futures_util::StreamExt;
    use tokio_tungstenite::tungstenite::Message;
    let f = fixture("ws");
    rt().block_on(async {
        let addr = listen(&f).await;
        // The events stream: a status message right away, then every 2 s.
        let (mut ev, _) = tokio_tungstenite::connect_async(format!("ws://{addr}/api/v1/ws/events"))
            .await
            .unwrap();
        let msg = tokio::time::timeout(Duration::from_secs(5), ev.next())
            .await
            .unwrap()
            .unwrap()
            .unwrap();
        let Message::Text(t) = msg else { panic!("{msg:?}") };
        let v: Value = serde_json::from_str(&t).unwrap();
        assert_eq!(v["type"], "status");
        assert!(v["status"]["flows"]["received"].is_u64(), "{v}");
        drop(ev);
        let url = format!("ws://{addr}/api/v1/ws/flows?filter=dst%20port%2053");
        let (mut ws, _) = tokio_tungstenite::connect_async(&url).await.unwrap();
        let v = push_and_read(&f, &mut ws).await;
        let a = v.as_array().unwrap();
        assert_eq!(a.len(), 30, "only port 53");
        let sampled = a.iter().find(|x| x["sampling_rate"] == 10).unwrap();
        assert_eq!(sampled["bytes"], 1_000, "scaled on the way out");
        // The events client may still be closing; the feed client is there.
        assert!(f.state.ws.clients.load(std::sync::atomic::Ordering::Relaxed) >= 1);

        // A burst larger than the ring while nothing else can run (one
        // thread): the feed is a ring behind, and its clients are told so
        // with 1008 rather than silently missing flows.
        let batch = Arc::new(flows());
        for _ in 0..crate::serve::LIVE_FEED_BATCHES + 10 {
            f.state.sinks.live.send(batch.clone()).unwrap();
        }
        let mut reason = None;
        while let Ok(Some(m)) = tokio::time::timeout(Duration::from_secs(5), ws.next()).await {
            if let Ok(Message::Close(Some(c))) = m {
                reason = Some((u16::from(c.code), c.reason.to_string()));
                break;
            }
        }
        let (code, why) = reason.expect("closed with a reason");
        assert_eq!(code, 1008);
        assert!(why.contains("too slow"), "{why}");
        assert_eq!(f.state.ws.slow(), 1);
    });
}

/// The fan-out without sockets: a client that does not take its messages
/// is dropped once its queue is full; one that does keeps getting them, and
/// clients with the same filter share one serialised message.
#[test]
fn the_fan_out_drops_only_the_full_client() {
    use crate::api::limits::WS_CLIENT_QUEUE;
    use crate::api::live::{Hub, Msg};
    rt().block_on(async {
        let hub = Arc::new(Hub::default());
        let (live, _) = broadcast::channel(4);
        let f = |t: &str| flowlens_store::Filter::parse(t).unwrap();
        let (_slow, slow_rx) = hub.subscribe(&live, f("dst port 53"));
        let (_fast, mut fast_rx) = hub.subscribe(&live, f("dst port 53"));
        let (_other, mut other_rx) = hub.subscribe(&live, f("proto icmp"));
        let batch = flows();
        for _ in 0..WS_CLIENT_QUEUE + 1 {
            assert!(hub.publish(&batch));
            let Some(Msg::Flows(a)) = fast_rx.recv().await else {
                panic!()
            };
            let v: Value = serde_json::from_str(a.as_str()).unwrap();
            assert_eq!(v.as_array().unwrap().len(), 30);
        }
        assert_eq!(
            hub.closed_slow.load(std::sync::atomic::Ordering::Relaxed),
            1,
            "only the full one"
        );
        drop(slow_rx);
        // No ICMP in the batch: nothing queued for that client.
        assert!(other_rx.try_recv().is_err());
    });
}
