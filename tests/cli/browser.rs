//! The console in a real browser: `flowlens demo` driven by Debian's
//! Chromium (headless) over the Chrome DevTools Protocol. Every page loads
//! with no console error and no failed request, in light and dark mode;
//! charts draw data; a bad filter is pointed at; sorting reorders the IP
//! table; the live page receives flows; a newcomer's path (top talker →
//! its page → its flows → live) works by clicking. Screenshots of every
//! page go to `<target>/screenshots/`.

use std::path::Path;
use std::time::{Duration, Instant};

use serde_json::json;

use crate::cdp::{chromium, start_chromium, start_demo, Cdp};

#[test]
fn console_in_a_real_browser() {
    let Some(bin) = chromium() else { return };
    let work = crate::temp("browser");
    let _ = std::fs::remove_dir_all(&work);
    std::fs::create_dir_all(&work).unwrap();
    let shots = Path::new(env!("CARGO_TARGET_TMPDIR")).join("../screenshots");
    std::fs::create_dir_all(&shots).unwrap();

    let (_demo, base, started) = start_demo(&work.join("data"));
    let (_chrome, ws_url) = start_chromium(&bin, &work.join("profile"));
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async move {
        let mut b = Cdp::connect(&ws_url).await;

        // A newcomer's first look: the dashboard with data, in time, and
        // what its first load weighs (nothing cached).
        b.dark(false).await;
        b.call("Network.setCacheDisabled", json!({ "cacheDisabled": true }))
            .await;
        let t = Instant::now();
        b.open(&format!("{base}/")).await;
        b.wait_for(
            "document.querySelectorAll('#top-src tbody tr').length > 0",
            "top sources on the dashboard",
        )
        .await;
        let populated = started.elapsed();
        let first_load = t.elapsed();
        b.eval("1").await;
        let bytes = b.transferred();
        eprintln!(
            "dashboard: populated {:.1} s after `flowlens demo` started; first load {:.0} ms, {:.0} kB transferred",
            populated.as_secs_f64(),
            first_load.as_secs_f64() * 1e3,
            bytes / 1e3
        );
        assert!(
            bytes > 100e3 && bytes <= 1.5e6,
            "first load of the dashboard: {bytes} bytes (target ≤ 1.5 MB)"
        );
        b.call("Network.setCacheDisabled", json!({ "cacheDisabled": false }))
            .await;
        assert!(
            populated < Duration::from_secs(30),
            "the demo took {populated:?} to show data"
        );
        // The throughput chart and the protocol pie draw real numbers.
        let drawn = b
            .eval(
                "(() => { const c = echarts.getInstanceByDom(document.querySelector('#chart-throughput'));
                  const s = c && c.getOption().series;
                  return !!s && s.length > 0 && s.some(x => x.data.some(p => p[1] > 0))
                    && FL.chartsRendered() >= 2; })()",
            )
            .await;
        assert_eq!(drawn, json!(true), "the dashboard's charts have data");
        let p = b.problems().await;
        assert!(p.0.is_empty(), "dashboard: {:?}", p.0);

        // Every page, light and dark: loads, no errors, a screenshot.
        let top_talker = b
            .eval("document.querySelector('#top-src tbody tr a').textContent")
            .await
            .as_str()
            .unwrap()
            .to_string();
        let pages = [
            ("dashboard", "/".to_string()),
            ("ips", "/ips".to_string()),
            ("ip", format!("/ips/{top_talker}")),
            ("flows", "/flows".to_string()),
            ("live", "/live".to_string()),
            ("bad-ips", "/bad-ips".to_string()),
            ("advisories", "/advisories?state=all".to_string()),
            ("alerts", "/alerts".to_string()),
            ("explore", "/explore?dims=proto&chart=area".to_string()),
            (
                "explore-sankey",
                "/explore?dims=proto,dst_port&chart=sankey".to_string(),
            ),
            ("explore-table", "/explore?dims=dst_port&chart=table".to_string()),
            ("exporters", "/exporters".to_string()),
            ("about", "/about".to_string()),
        ];
        for dark in [false, true] {
            b.dark(dark).await;
            let mode = if dark { "dark" } else { "light" };
            for (name, path) in &pages {
                b.open(&format!("{base}{path}")).await;
                if *name == "live" {
                    b.wait_for("document.querySelectorAll('#live tbody tr').length > 0", "live flows")
                        .await;
                }
                let bg = b.eval("getComputedStyle(document.body).backgroundColor").await;
                let want = if dark { "rgb(14, 18, 23)" } else { "rgb(244, 246, 249)" };
                assert_eq!(bg, json!(want), "{name} in {mode} mode");
                b.screenshot(&shots.join(format!("{name}-{mode}.png"))).await;
                let p = b.problems().await;
                assert!(p.0.is_empty(), "{name} ({mode}): {:?}", p.0);
            }
        }
        b.dark(false).await;

        // The demo injects a port scan 20 s after its start: the advisory
        // shows with its sentence and evidence link, and on the dashboard.
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            b.open(&format!("{base}/advisories")).await;
            if b.eval("document.querySelectorAll('.advisory').length > 0").await == json!(true) {
                break;
            }
            assert!(Instant::now() < deadline, "no advisory from the demo's injected scan");
            tokio::time::sleep(Duration::from_secs(2)).await;
        }
        let text = b.eval("document.querySelector('.advisory').textContent").await;
        assert!(text.as_str().unwrap().contains("What to do"), "{text}");
        b.screenshot(&shots.join("advisories-found-light.png")).await;
        b.open(&format!("{base}/")).await;
        b.wait_for(
            "!document.querySelector('#advisories-card').hidden",
            "the dashboard's advisories",
        )
        .await;

        // The rule editor: a rule added with the form is listed; a bad
        // filter is refused in the form with the reason.
        b.open(&format!("{base}/alerts")).await;
        b.eval(
            "(() => { const f = document.querySelector('#rule-form'); f.elements.name.value = 'Browser rule'; \
             f.elements.filter.value = 'proto udp'; f.elements.threshold.value = '5'; f.requestSubmit(); })()",
        )
        .await;
        b.wait_for(
            "[...document.querySelectorAll('#rule-list td')].some((td) => td.textContent === 'Browser rule')",
            "the new rule in the list",
        )
        .await;
        b.eval(
            "(() => { const f = document.querySelector('#rule-form'); f.elements.name.value = 'Bad'; \
             f.elements.filter.value = 'port 5x'; f.requestSubmit(); })()",
        )
        .await;
        b.wait_for(
            "document.querySelector('#rule-error').textContent.includes('filter')",
            "the rule's error in the form",
        )
        .await;
        // The refused rule is the only problem: its 400 answer.
        let p = b.problems().await;
        assert!(p.0.iter().all(|x| x.contains("400")), "alerts: {:?}", p.0);

        // On a phone: nothing wider than the screen but what scrolls inside
        // its own box (tables, the navigation).
        b.call(
            "Emulation.setDeviceMetricsOverride",
            json!({ "width": 390, "height": 844, "deviceScaleFactor": 2, "mobile": true }),
        )
        .await;
        for (name, path) in [
            ("dashboard", "/"),
            ("ips", "/ips"),
            ("flows", "/flows"),
            ("explore", "/explore"),
        ] {
            b.open(&format!("{base}{path}")).await;
            let fits = b
                .eval("document.documentElement.scrollWidth <= window.innerWidth + 1")
                .await;
            assert_eq!(fits, json!(true), "{name} fits a 390-pixel phone screen");
            b.screenshot(&shots.join(format!("{name}-phone.png"))).await;
        }
        b.call(
            "Emulation.setDeviceMetricsOverride",
            json!({ "width": 1400, "height": 1000, "deviceScaleFactor": 1, "mobile": false }),
        )
        .await;
        let p = b.problems().await;
        assert!(p.0.is_empty(), "phone: {:?}", p.0);

        // The theme toggle overrides the system and is remembered.
        b.open(&format!("{base}/about")).await;
        b.eval("document.querySelector('#theme-toggle').click()").await;
        assert_eq!(b.eval("document.documentElement.dataset.theme").await, json!("dark"));
        b.open(&format!("{base}/about")).await;
        assert_eq!(
            b.eval("getComputedStyle(document.body).backgroundColor").await,
            json!("rgb(14, 18, 23)"),
            "the choice survives a reload"
        );
        b.eval("document.querySelector('#theme-toggle').click()").await;
        assert_eq!(b.eval("document.documentElement.dataset.theme").await, json!("light"));

        // Sorting the IP table changes the order, and the URL says so.
        b.open(&format!("{base}/ips")).await;
        let first = b
            .eval("[...document.querySelectorAll('#ips tbody tr td:first-child')].map(t => t.textContent)")
            .await;
        b.eval(
            "delete document.body.dataset.loaded; document.querySelector(\"#ips th button[data-sort='addr']\").click()",
        )
        .await;
        b.wait_for("!!document.body.dataset.loaded", "the sorted IP table")
            .await;
        let sorted = b
            .eval("[...document.querySelectorAll('#ips tbody tr td:first-child')].map(t => t.textContent)")
            .await;
        assert_ne!(first, sorted, "sorting by address changed the order");
        assert!(b.eval("location.search").await.as_str().unwrap().contains("sort=addr"));
        let addrs: Vec<String> = sorted
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_str().unwrap().to_string())
            .collect();
        let v4: Vec<std::net::Ipv4Addr> = addrs.iter().filter_map(|a| a.parse().ok()).collect();
        assert!(v4.windows(2).all(|w| w[0] <= w[1]), "ascending by address: {addrs:?}");
        let p = b.problems().await;
        assert!(p.0.is_empty(), "ips sorting: {:?}", p.0);

        // A bad filter is pointed at, with the column, under the box.
        b.open(&format!("{base}/flows?filter=proto%20tcpx")).await;
        b.wait_for("!document.querySelector('#filter-error').hidden", "the filter error")
            .await;
        let msg = b.eval("document.querySelector('#filter-error').textContent").await;
        let msg = msg.as_str().unwrap();
        assert!(
            msg.contains("column 7") && msg.contains("tcpx") && msg.contains('^'),
            "{msg}"
        );
        // …also while typing, before submitting.
        b.open(&format!("{base}/flows")).await;
        b.eval(
            "const i = document.querySelector('#filter'); i.value = 'src port 99999';
             i.dispatchEvent(new Event('input'))",
        )
        .await;
        b.wait_for(
            "!document.querySelector('#filter-error').hidden",
            "the filter error while typing",
        )
        .await;
        // (The 400 answers of the API to the bad filters are expected.)
        let p = b.problems().await;
        assert!(
            p.0.iter().all(|e| e.contains("400")),
            "only the expected 400s: {:?}",
            p.0
        );

        // The newcomer's path by clicking: top talker → its page → its
        // flows → live.
        b.open(&format!("{base}/")).await;
        let ip = b
            .eval("document.querySelector('#top-src tbody tr a').textContent")
            .await;
        b.eval("delete document.body.dataset.loaded; document.querySelector('#top-src tbody tr a').click()")
            .await;
        b.wait_for(
            "location.pathname.startsWith('/ips/') && !!document.body.dataset.loaded",
            "the top talker's page",
        )
        .await;
        assert_eq!(b.eval("document.querySelector('#ip').dataset.ip").await, ip);
        b.wait_for("document.querySelectorAll('#peers tbody tr').length > 0", "its peers")
            .await;
        b.eval("document.querySelector('#ip-flows').click()").await;
        b.wait_for(
            "location.pathname === '/flows' && !!document.body && !!document.body.dataset.loaded",
            "its flows",
        )
        .await;
        let rows = b
            .eval(&format!(
                "[...document.querySelectorAll('#flows tbody tr')].every(r => r.textContent.includes({ip}))"
            ))
            .await;
        assert_eq!(rows, json!(true), "every flow listed involves {ip}");
        assert!(
            b.eval("document.querySelectorAll('#flows tbody tr').length")
                .await
                .as_u64()
                .unwrap()
                > 0
        );
        // Live, paused and resumed.
        b.open(&format!("{base}/live")).await;
        b.wait_for("document.querySelectorAll('#live tbody tr').length > 0", "live flows")
            .await;
        b.eval("document.querySelector('#pause').click()").await;
        let before = b.eval("document.querySelector('#live tbody').textContent").await;
        tokio::time::sleep(Duration::from_millis(1_200)).await;
        assert_eq!(
            b.eval("document.querySelector('#live tbody').textContent").await,
            before,
            "paused"
        );
        assert_eq!(
            b.eval("document.querySelector('#live-state').textContent").await,
            json!("Paused")
        );
        b.eval("document.querySelector('#pause').click()").await;
        b.wait_for(
            &format!("document.querySelector('#live tbody').textContent !== {before}"),
            "flows again after resuming",
        )
        .await;
        let p = b.problems().await;
        assert!(p.0.is_empty(), "newcomer path: {:?}", p.0);
    });
    let _ = std::fs::remove_dir_all(&work);
}
