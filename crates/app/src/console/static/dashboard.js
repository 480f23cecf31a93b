// Dashboard: throughput by protocol, headline numbers, top talkers, ports,
// protocols and countries for the range; refreshed every 30 s while the
// range follows the clock.
'use strict';
(function () {
  const { $, el, fill, api } = FL;
  let unit = FL.params().get('unit') === 'pps' ? 'pps' : 'bps';
  const throughput = FL.chart($('#chart-throughput'));
  let protoChart = null;

  for (const b of FL.$$('[data-unit]')) {
    b.setAttribute('aria-pressed', String(b.dataset.unit === unit));
    b.addEventListener('click', () => {
      unit = b.dataset.unit;
      FL.$$('[data-unit]').forEach((x) => x.setAttribute('aria-pressed', String(x.dataset.unit === unit)));
      FL.setParams({ unit: unit === 'bps' ? null : unit }, false);
      loadSeries();
    });
  }

  const seconds = (r) => Math.max(1, (new Date(r.until) - new Date(r.since)) / 1000);

  async function loadSeries() {
    try {
      const s = await api('/api/v1/series', FL.query({ metric: unit === 'bps' ? 'bytes' : 'packets', by: 'proto', top: 8, rate: true }));
      const mult = unit === 'bps' ? 8 : 1;
      const series = s.series.map((x) => ({
        name: x.key == null ? 'other' : FL.proto(x.key),
        values: x.values.map((v) => v * mult),
      }));
      const fmt = unit === 'bps' ? FL.bps : FL.pps;
      throughput.set((col) => FL.timeOption(col, s.times, series.filter((x) => x.values.some((v) => v > 0)), fmt, 'area'));
    } catch (e) {
      FL.fail(e, $('#chart-throughput'));
    }
  }

  function topPanel(id, dim, label, empty) {
    return api('/api/v1/top', FL.query({ by: dim, limit: 10 }))
      .then((r) => {
        const known = r.rows.filter((x) => x.key[dim] != null);
        if (dim.endsWith('country') && !known.length) {
          fill($('#' + id), el('div', { class: 'empty', text: empty }));
          return r;
        }
        fill($('#' + id), FL.topTable(r, { label }));
        return r;
      })
      .catch((e) => FL.fail(e, $('#' + id)));
  }

  /** Protocol mix; its totals fill the headline numbers and decide the
   * empty state (one query for both). */
  async function loadProtocols() {
    let r;
    try {
      r = await api('/api/v1/top', FL.query({ by: 'proto', limit: 8 }));
    } catch (e) {
      FL.fail(e, $('#protocols'));
      return;
    }
    FL.banner(null);
    const t = r.total;
    FL.empty(t.flows === 0 && !FL.params().get('filter'));
    const secs = seconds(r.range);
    fill($('#stat-bps'), FL.bps((t.bytes * 8) / secs));
    fill($('#stat-bytes'), FL.bytes(t.bytes) + ' in the range (average rate)');
    fill($('#stat-pps'), FL.pps(t.packets / secs));
    fill($('#stat-packets'), FL.count(t.packets) + ' packets');
    fill($('#stat-fps'), FL.si(t.flows / secs, ' flows/s'));
    fill($('#stat-flows'), FL.count(t.flows) + ' flows');
    const target = $('#protocols');
    if (!t.bytes) {
      protoChart = null;
      return fill(target, el('div', { class: 'empty', text: 'Nothing in this range.' }));
    }
    if (!protoChart || !target.contains(protoChart.el)) {
      const div = el('div', { class: 'chart small' });
      fill(target, div);
      protoChart = FL.chart(div);
    }
    const items = r.rows.map((x) => ({ name: FL.proto(x.key.proto), value: x.bytes }));
    if (r.other.bytes > 0) items.push({ name: 'other', value: r.other.bytes });
    protoChart.set((col) => FL.pieOption(col, items, FL.bytes));
  }

  async function loadStats() {
    try {
      const st = await api('/api/v1/status');
      const exporters = (st.exporters || []).length;
      fill($('#stat-now'), FL.si(st.flows.per_second, ' flows/s'));
      fill($('#stat-exporters'), exporters + (exporters === 1 ? ' exporter' : ' exporters') + ' seen since start');
    } catch (e) {
      fill($('#stat-now'), '–');
    }
  }

  // Open advisories: counts by severity and the five most severe; the
  // panel is hidden while there are none.
  async function loadAdvisories() {
    try {
      const r = await api('/api/v1/advisories', { limit: 5 });
      const card = $('#advisories-card');
      card.hidden = !r.advisories.length;
      fill(
        $('#advisory-counts'),
        ['critical', 'warning', 'info'].filter((s) => r.counts[s]).map((s) => el('span', { class: 'sev sev-' + s, text: r.counts[s] + ' ' + s }))
      );
      fill(
        $('#advisories'),
        el(
          'ul',
          { class: 'advisory-list' },
          r.advisories.map((a) => el('li', null, FL.severity(a.severity), ' ', el('a', { href: a.evidence, text: a.description })))
        )
      );
    } catch (e) {
      $('#advisories-card').hidden = true;
    }
  }

  async function load() {
    // All at once: the API runs up to 8 questions in parallel.
    await Promise.all([
      loadProtocols(),
      loadSeries(),
      loadStats(),
      loadAdvisories(),
      topPanel('top-src', 'src_addr', 'Bytes'),
      topPanel('top-dst', 'dst_addr', 'Bytes'),
      topPanel('ports', 'dst_port', 'Bytes'),
      topPanel('countries', 'src_country', 'Bytes', 'No country data: configure a GeoIP database (enrichment.geoip) to see countries.'),
      topPanel('dst-countries', 'dst_country', 'Bytes', 'No country data: configure a GeoIP database (enrichment.geoip) to see countries.'),
    ]);
    FL.done();
  }

  FL.every(30000, load);
})();
