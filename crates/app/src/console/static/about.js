// About: the service's own numbers from /api/v1/status, every 2 s.
'use strict';
(function () {
  const { $, el, fill, api } = FL;
  const disk = $('#disk');
  fill(disk, FL.bytes(Number(disk.dataset.bytes)));

  async function load() {
    try {
      const s = await api('/api/v1/status');
      FL.banner(null);
      fill($('#uptime'), FL.duration(s.uptime_seconds));
      fill($('#rss'), s.memory && s.memory.rss_bytes != null ? (s.memory.rss_bytes / 1048576).toFixed(1) + ' MiB' : '–');
      fill($('#flows-received'), FL.count(s.flows.received) + ' (' + FL.count(s.flows.stored) + ' stored)');
      fill($('#flow-rate'), FL.si(s.flows.per_second, ' flows/s'));
      fill($('#ws-clients'), FL.count(s.websocket ? s.websocket.clients : 0));
      fill($('#flushes'), FL.count(s.store.flushes) + ' (' + FL.count(s.store.flush_errors) + ' failed, last ' + s.store.last_flush_ms + ' ms)');
      const drops = [];
      for (const [k, n] of Object.entries(s.datagrams.dropped || {})) drops.push({ what: 'datagram', reason: k, n });
      for (const [k, n] of Object.entries(s.datagrams.decode_errors || {})) drops.push({ what: 'decode error', reason: k, n });
      for (const [k, n] of Object.entries(s.flows.dropped || {})) drops.push({ what: 'flow', reason: k, n });
      for (const l of s.listeners || []) if (l.kernel_drops) drops.push({ what: 'kernel (socket buffer)', reason: l.address, n: l.kernel_drops });
      drops.sort((a, b) => b.n - a.n);
      fill(
        $('#drops'),
        FL.table(
          [
            { label: 'What', value: (d) => d.what },
            { label: 'Reason', value: (d) => el('code', null, d.reason) },
            { label: 'Count', num: true, value: (d) => FL.count(d.n) },
          ],
          drops,
          { empty: 'Nothing dropped since the start.' }
        )
      );
      fill(
        $('#listeners'),
        FL.table(
          [
            { label: 'Address', value: (l) => el('span', { class: 'mono' }, 'udp ' + l.address) },
            { label: 'Protocol', value: (l) => l.protocol },
            { label: 'Datagrams/s', num: true, value: (l) => FL.si(l.datagrams_per_second, '') },
            { label: 'Flows/s', num: true, value: (l) => FL.si(l.flows_per_second, '') },
            { label: 'Kernel drops', num: true, value: (l) => FL.count(l.kernel_drops) },
          ],
          s.listeners || [],
          { empty: 'No UDP listener.' }
        )
      );
      FL.done();
    } catch (e) {
      FL.fail(e);
    }
  }
  load();
  setInterval(() => document.hidden || load(), 2000);
})();
