// One address: traffic in and out, peers (with the pair's flows), protocols,
// ports, peer countries and its latest flows.
'use strict';
(function () {
  const { $, el, fill, api } = FL;
  const ip = $('#ip').dataset.ip;
  const chart = FL.chart($('#chart-io'));
  const flowsOf = (filter) => FL.href('/flows', { filter });

  function recent(flows) {
    const cols = [
      { label: 'End', value: (f) => FL.time(f.time_end || f.time_received) },
      { label: 'Source', value: (f) => FL.dimNode('src_addr', f.src_addr) },
      { label: 'Port', num: true, value: (f) => (f.src_port == null ? '' : String(f.src_port)) },
      { label: 'Destination', value: (f) => FL.dimNode('dst_addr', f.dst_addr) },
      { label: 'Port', num: true, value: (f) => FL.port(f.dst_port) },
      { label: 'Proto', value: (f) => FL.proto(f.proto) },
      { label: 'Bytes', num: true, value: (f) => FL.bytes(f.bytes) },
      { label: 'Packets', num: true, value: (f) => FL.count(f.packets) },
    ];
    return FL.table(cols, flows, { empty: 'No flows of this address in the range.' });
  }

  async function load() {
    const q = FL.query({ top: 10 });
    try {
      const s = await api('/api/v1/ips/' + encodeURIComponent(ip), q);
      FL.banner(null);
      const l = s.location || {};
      const where = [l.city, l.country].filter(Boolean).join(', ');
      const as = l.asn != null ? 'AS' + l.asn + (l.as_name ? ' ' + l.as_name : '') : '';
      const coords = l.latitude != null && l.longitude != null ? l.latitude.toFixed(2) + ', ' + l.longitude.toFixed(2) : '';
      let cls = '';
      try {
        const c = (await api('/api/v1/classification-rules/classify/' + encodeURIComponent(ip))).class;
        if (c) {
          const inside = c.internal == null ? null : c.internal ? 'internal' : 'external';
          cls = [c.name, c.environment, c.datacenter, c.location, inside].filter(Boolean).join(' / ');
        }
      } catch (e) {
        cls = '';
      }
      fill(
        $('#ip-where'),
        [cls && 'Network: ' + cls, where, coords && '(' + coords + ')', as].filter(Boolean).join(' · ') ||
          'No GeoIP data or classification rule for this address.'
      );
      fill($('#stat-out'), FL.bytes(s.bytes_out));
      fill($('#stat-in'), FL.bytes(s.bytes_in));
      fill($('#stat-packets'), FL.count(s.totals.packets));
      fill($('#stat-flows'), FL.count(s.totals.flows));
      const step = s.series_in.step || 1;
      const rate = (xs) => xs.map((b) => (b * 8) / step);
      chart.set((col) =>
        FL.timeOption(
          col,
          s.series_in.times,
          [
            { name: 'Received', values: rate(s.series_in.bytes) },
            { name: 'Sent', values: rate(s.series_out.bytes) },
          ],
          FL.bps,
          'lines'
        )
      );
      const total = s.totals.bytes || 0;
      const peerCols = [
        { label: 'Peer', cls: 'key', value: (r) => FL.dimNode('src_addr', r.ip) },
        { label: 'Bytes', num: true, cls: 'share', value: (r) => FL.bar(total ? r.bytes / total : 0, FL.bytes(r.bytes)) },
        { label: 'Flows', num: true, value: (r) => FL.count(r.flows) },
        { label: '', value: (r) => el('a', { href: flowsOf('host ' + ip + ' and host ' + r.ip), title: 'Flows between the two' }, 'flows') },
      ];
      fill($('#peers'), FL.table(peerCols, s.peers, { empty: 'No peers in this range.' }));
      fill($('#protocols'), FL.topTable(s.protocols, { label: 'Bytes' }));
      fill($('#ports'), FL.topTable(s.ports, { label: 'Bytes' }));
      const known = s.peer_countries.rows.some((r) => r.key[s.peer_countries.by[0]] != null);
      fill(
        $('#countries'),
        known
          ? FL.topTable(s.peer_countries, { label: 'Bytes' })
          : el('div', { class: 'empty', text: 'No country data: configure a GeoIP database (enrichment.geoip).' })
      );
      try {
        const range = FL.query({});
        delete range.filter;
        const b = await api('/api/v1/ips/' + encodeURIComponent(ip) + '/behaviour', range);
        const serves = b.serves.slice(0, 5).map((x) => FL.port(x[0]) + ' (' + x[1] + ' clients)').join(', ');
        fill(
          $('#behaviour'),
          el(
            'div',
            { class: 'behaviour' },
            el('div', { class: 'role', text: b.role.replace('_', ' ') + (b.role === 'unknown' ? '' : ' · ' + FL.pct(b.confidence) + ' confidence') }),
            el('p', { text: b.reasons.join('; ') + '.' }),
            el('p', { class: 'muted', text: 'Reached by ' + b.fan_in + ' clients, reaches ' + b.fan_out + ' servers, ' + FL.count(b.flows) + ' flows examined' + (serves ? '; serves ' + serves : '') + '.' })
          )
        );
      } catch (e) {
        fill($('#behaviour'), el('div', { class: 'empty', text: e.message }));
      }
      const flows = await api('/api/v1/flows', FL.query({ filter: FL.andFilter('host ' + ip, FL.params().get('filter') || ''), limit: 20 }));
      fill($('#recent'), recent(flows.flows), el('p', { class: 'hint' }, el('a', { href: flowsOf('host ' + ip) }, 'All flows of ' + ip + ' ›')));
      FL.done();
    } catch (e) {
      FL.fail(e);
      for (const id of ['#behaviour', '#peers', '#protocols', '#ports', '#countries', '#recent']) fill($(id), el('div', { class: 'empty', text: '–' }));
    }
  }
  FL.every(30000, load);
})();
