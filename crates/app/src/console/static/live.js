// Live flows over the WebSocket feed: the latest flows first, a rate,
// pause/resume; reconnects when the connection drops.
'use strict';
(function () {
  const { $, el, fill } = FL;
  /** Rows kept on screen. */
  const KEEP = 200;
  /** Screen updates per second at most. */
  const RENDER_MS = 250;
  fill($('#live-keep'), String(KEEP));

  let ws = null;
  let paused = false;
  let rows = [];
  let dirty = false;
  let received = 0;
  const arrivals = []; // [time ms, count] over the last 5 s
  let retry = 0;

  const cols = [
    { label: 'Received', value: (f) => FL.time(f.time_received) },
    { label: 'Exporter', value: (f) => el('span', { class: 'mono' }, f.exporter) },
    { label: 'Source', value: (f) => FL.dimNode('src_addr', f.src_addr) },
    { label: 'Port', num: true, value: (f) => (f.src_port == null ? '' : String(f.src_port)) },
    { label: 'Destination', value: (f) => FL.dimNode('dst_addr', f.dst_addr) },
    { label: 'Port', num: true, value: (f) => FL.port(f.dst_port) },
    { label: 'Proto', value: (f) => FL.proto(f.proto) },
    { label: 'Flags', value: (f) => el('span', { class: 'mono' }, FL.flags(f.tcp_flags)) },
    { label: 'Bytes', num: true, value: (f) => FL.bytes(f.bytes) },
    { label: 'Packets', num: true, value: (f) => FL.count(f.packets) },
  ];

  function state(text, cls) {
    const s = $('#live-state');
    s.className = 'state ' + (cls || '');
    fill(s, text);
  }

  async function connect() {
    const filter = FL.params().get('filter') || '';
    if (filter) {
      // Check the filter first: a refused upgrade says nothing about why.
      try {
        await FL.api('/api/v1/flows', { filter, since: '1s', limit: 1 });
      } catch (e) {
        FL.fail(e, $('#live'));
        state('Not connected', 'off');
        return;
      }
    }
    const url = (location.protocol === 'https:' ? 'wss://' : 'ws://') + location.host + '/api/v1/ws/flows' + (filter ? '?filter=' + encodeURIComponent(filter) : '');
    ws = new WebSocket(url);
    state('Connecting…');
    ws.onopen = () => {
      retry = 0;
      state(paused ? 'Paused' : 'Live', paused ? '' : 'on');
    };
    ws.onmessage = (m) => {
      let flows;
      try {
        flows = JSON.parse(m.data);
      } catch (e) {
        return;
      }
      if (!Array.isArray(flows)) return;
      received += flows.length;
      arrivals.push([Date.now(), flows.length]);
      if (paused) return;
      rows = flows.reverse().concat(rows).slice(0, KEEP);
      dirty = true;
    };
    ws.onclose = (e) => {
      ws = null;
      const why = e.reason ? ' (' + e.reason + ')' : '';
      retry = Math.min(retry + 1, 5);
      state('Disconnected' + why + ' — reconnecting…', 'off');
      setTimeout(connect, 1000 * retry);
    };
  }

  setInterval(() => {
    const now = Date.now();
    while (arrivals.length && arrivals[0][0] < now - 5000) arrivals.shift();
    const n = arrivals.reduce((a, x) => a + x[1], 0);
    fill($('#live-rate'), FL.count(Math.round(n / 5)));
    fill($('#live-total'), FL.count(received));
    if (dirty && !paused) {
      dirty = false;
      fill($('#live'), FL.table(cols, rows, { empty: 'Waiting for flows…' }));
      FL.done();
    }
  }, RENDER_MS);

  $('#pause').addEventListener('click', () => {
    paused = !paused;
    fill($('#pause'), paused ? 'Resume' : 'Pause');
    state(paused ? 'Paused' : ws ? 'Live' : 'Connecting…', paused ? '' : ws ? 'on' : '');
  });
  connect();
})();
