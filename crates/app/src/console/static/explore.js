// Explore: dimensions × metric × chart. Stacked area, lines and the table
// (min/avg/max/p95 of the per-second rate) split by the first dimension;
// Sankey follows 2 to 4.
'use strict';
(function () {
  const { $, el, fill, api } = FL;
  const MAX_DIMS = 4;
  const input = $('#dims');

  // Dimension chips: toggling keeps their order of choice.
  for (const chip of FL.$$('#dim-chips .chip')) {
    chip.addEventListener('click', () => {
      let dims = input.value ? input.value.split(',') : [];
      const d = chip.dataset.dim;
      if (dims.includes(d)) dims = dims.filter((x) => x !== d);
      else if (dims.length < MAX_DIMS) dims.push(d);
      else return FL.banner('At most ' + MAX_DIMS + ' dimensions.');
      input.value = dims.join(',');
      FL.$$('#dim-chips .chip').forEach((c) => c.setAttribute('aria-pressed', String(dims.includes(c.dataset.dim))));
      FL.submitControls();
    });
  }
  for (const id of ['#metric', '#chart', '#limit']) $(id).addEventListener('change', () => FL.submitControls());

  const chart = FL.chart($('#explore-chart'));
  const p = FL.params();
  const dims = (p.get('dims') || 'proto').split(',').filter((d) => FL.DIMENSIONS[d]);
  const metric = ['bytes', 'packets', 'flows'].includes(p.get('metric')) ? p.get('metric') : 'bytes';
  const kind = ['area', 'lines', 'table', 'sankey'].includes(p.get('chart')) ? p.get('chart') : 'area';
  const limit = parseInt(p.get('limit') || '10', 10) || 10;
  const mult = metric === 'bytes' ? 8 : 1;
  const fmt = { bytes: FL.bps, packets: FL.pps, flows: (n) => FL.si(n, ' flows/s') }[metric];
  const metricName = { bytes: 'Bits/s', packets: 'Packets/s', flows: 'Flows/s' }[metric];

  const quantile = (xs, q) => {
    if (!xs.length) return 0;
    const s = xs.slice().sort((a, b) => a - b);
    return s[Math.min(s.length - 1, Math.ceil(q * s.length) - 1)];
  };

  async function series() {
    const by = dims[0];
    const s = await api('/api/v1/series', FL.query({ metric, by, top: Math.min(limit, 100), rate: true }));
    const named = s.series
      .map((x) => ({ name: x.key == null && x.label === 'other' ? 'other' : by ? FL.dimText(by, x.key) : 'total', key: x.key, values: x.values.map((v) => v * mult) }))
      .filter((x) => x.values.some((v) => v > 0));
    return { s, named, by };
  }

  async function load() {
    const titleDims = dims.map((d) => FL.DIMENSIONS[d]).join(' → ');
    try {
      if (kind === 'sankey') {
        $('#explore-table').hidden = true;
        $('#explore-chart').hidden = false;
        fill($('#explore-title'), { bytes: 'Bytes', packets: 'Packets', flows: 'Flows' }[metric] + ' along ' + titleDims);
        if (dims.length < 2) {
          chart.message('A Sankey diagram needs 2 to 4 dimensions: pick another one above.');
          return;
        }
        const r = await api('/api/v1/sankey', FL.query({ by: dims.join(','), metric, limit }));
        if (!r.links.length) {
          chart.message('Nothing in this range.');
          return;
        }
        const name = (n) => (FL.DIMENSIONS[n.dimension] || n.dimension) + ': ' + FL.dimText(n.dimension, n.value);
        const nodes = r.nodes.map((n) => ({ name: name(n) }));
        const links = r.links.map((l) => ({ source: nodes[l.source].name, target: nodes[l.target].name, value: l.value }));
        const vf = FL.metricFormat[metric];
        chart.set((col) => ({
          backgroundColor: 'transparent',
          color: FL.PALETTE,
          animation: false,
          tooltip: {
            backgroundColor: col.panel,
            borderColor: col.border,
            textStyle: { color: col.text },
            formatter: (x) =>
              x.dataType === 'edge'
                ? FL.esc(x.data.source) + ' → ' + FL.esc(x.data.target) + ': <b>' + FL.esc(vf(x.data.value)) + '</b>'
                : FL.esc(x.name) + ': <b>' + FL.esc(vf(x.value)) + '</b>',
          },
          series: [{
            type: 'sankey', data: nodes, links, emphasis: { focus: 'adjacency' }, nodeGap: 10,
            label: { color: col.text }, lineStyle: { color: 'gradient', opacity: 0.35 },
          }],
        }));
        return;
      }
      if (kind === 'table') {
        $('#explore-chart').hidden = true;
        $('#explore-table').hidden = false;
        const { s, named, by } = await series();
        fill($('#explore-title'), metricName + (by ? ' by ' + FL.DIMENSIONS[by] : '') + ' — top ' + limit);
        const stats = named.map((x) => ({
          ...x,
          min: Math.min(...x.values),
          max: Math.max(...x.values),
          avg: x.values.reduce((a, v) => a + v, 0) / Math.max(1, x.values.length),
          p95: quantile(x.values, 0.95),
          total: (x.values.reduce((a, v) => a + v, 0) * s.step) / mult,
        }));
        stats.sort((a, b) => (a.name === 'other') - (b.name === 'other') || b.avg - a.avg);
        const cols = [
          { label: by ? FL.DIMENSIONS[by] : 'Traffic', cls: 'key', value: (x) => (x.name === 'other' || !by ? x.name : FL.dimNode(by, x.key)) },
          { label: 'Min', num: true, value: (x) => fmt(x.min) },
          { label: 'Average', num: true, value: (x) => fmt(x.avg) },
          { label: 'Max', num: true, value: (x) => fmt(x.max) },
          { label: 'p95', num: true, value: (x) => fmt(x.p95) },
          { label: 'Total', num: true, value: (x) => FL.metricFormat[metric](x.total) },
        ];
        fill($('#explore-table'), FL.table(cols, stats, { empty: 'Nothing in this range.' }), el('p', { class: 'hint', text: 'Rates per second over ' + s.step + '-second steps.' }));
        return;
      }
      $('#explore-table').hidden = true;
      $('#explore-chart').hidden = false;
      const { s, named, by } = await series();
      fill($('#explore-title'), metricName + (by ? ' by ' + FL.DIMENSIONS[by] : ''));
      if (!named.length) {
        chart.message('Nothing in this range.');
        return;
      }
      chart.set((col) => FL.timeOption(col, s.times, named, fmt, kind));
    } catch (e) {
      FL.fail(e, $('#explore-chart'));
    } finally {
      FL.done();
    }
  }
  FL.every(60000, load);
})();
