// FlowLens console: what every page script shares — DOM building (text
// only, never HTML from data), the URL as the page's state, API calls with
// their errors, number and name formatting, tables, charts and the theme.
// Plain ES2020, no build step.
'use strict';
(function () {
  const FL = (window.FL = {});

  // ---------------------------------------------------------------- DOM
  FL.$ = (sel, root) => (root || document).querySelector(sel);
  FL.$$ = (sel, root) => Array.from((root || document).querySelectorAll(sel));

  /** el('a', {href: '/x', class: 'y'}, 'text', child…): text is never parsed. */
  FL.el = function (tag, attrs, ...children) {
    const e = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (v == null || v === false) continue;
      if (k === 'class') e.className = v;
      else if (k === 'text') e.textContent = String(v);
      else if (k.startsWith('on')) e.addEventListener(k.slice(2), v);
      else e.setAttribute(k, v === true ? '' : String(v));
    }
    for (const c of children.flat()) {
      if (c == null || c === false) continue;
      e.append(c instanceof Node ? c : document.createTextNode(String(c)));
    }
    return e;
  };
  FL.fill = function (target, ...children) {
    target.replaceChildren(...children.flat().filter((c) => c != null && c !== false));
  };
  /** For chart tooltips, which ECharts takes as HTML. */
  FL.esc = (s) =>
    String(s).replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]);

  // ---------------------------------------------------------------- URL
  FL.params = () => new URLSearchParams(location.search);
  /** The time range and filter of this page, as the API takes them. */
  FL.query = function (extra) {
    const p = FL.params();
    const q = { since: p.get('since') || '1h' };
    if (q.since === 'custom') q.since = '1h';
    if (p.get('until')) q.until = p.get('until');
    if (p.get('filter')) q.filter = p.get('filter');
    return Object.assign(q, extra || {});
  };
  /** A relative range (no `until`) follows the clock: pages refresh. */
  FL.isLive = () => !FL.params().get('until');
  /** Changes the URL without reloading (sorting, paging). */
  FL.setParams = function (changes, push) {
    const p = FL.params();
    for (const [k, v] of Object.entries(changes)) {
      if (v == null || v === '') p.delete(k);
      else p.set(k, v);
    }
    const s = p.toString();
    history[push === false ? 'replaceState' : 'pushState'](null, '', location.pathname + (s ? '?' + s : ''));
  };
  /** A console link that keeps the current range. */
  FL.href = function (path, extra) {
    const p = new URLSearchParams();
    const cur = FL.params();
    for (const k of ['since', 'until']) if (cur.get(k)) p.set(k, cur.get(k));
    for (const [k, v] of Object.entries(extra || {})) if (v != null && v !== '') p.set(k, v);
    const s = p.toString();
    return path + (s ? '?' + s : '');
  };
  FL.ipHref = (ip) => FL.href('/ips/' + encodeURIComponent(ip));
  /** `a and b`, with parentheses where `or` would bind wrongly. */
  FL.andFilter = function (...parts) {
    const ps = parts.filter((x) => x && x.trim());
    if (ps.length < 2) return ps[0] || '';
    return ps.map((x) => (/\bor\b|\|\|/i.test(x) ? '(' + x + ')' : x)).join(' and ');
  };

  // ---------------------------------------------------------------- API
  class ApiError extends Error {
    constructor(status, code, message) {
      super(message);
      this.status = status;
      this.code = code;
    }
  }
  FL.ApiError = ApiError;
  async function call(url, init) {
    let r;
    try {
      r = await fetch(url, init);
    } catch (e) {
      throw new ApiError(0, 'network', 'FlowLens did not answer (' + e.message + '). Is the service running?');
    }
    let body = null;
    try {
      body = await r.json();
    } catch (e) {
      body = null;
    }
    if (!r.ok) {
      const err = (body && body.error) || {};
      // The session ended (expired, signed out elsewhere): sign in again
      // and come back here.
      if (r.status === 401 && FL.csrf()) {
        location.href = '/login?next=' + encodeURIComponent(location.pathname + location.search);
      }
      throw new ApiError(r.status, err.code || 'http_' + r.status, err.message || r.statusText);
    }
    return body;
  }
  FL.api = async function (path, params) {
    const qs = new URLSearchParams();
    for (const [k, v] of Object.entries(params || {})) if (v != null && v !== '') qs.set(k, String(v));
    const s = qs.toString();
    return call(path + (s ? '?' + s : ''), { headers: { Accept: 'application/json' } });
  };
  /** POST, PATCH or DELETE with a JSON body; the answer's JSON or an ApiError. */
  /** The session's CSRF token (none when signed in otherwise). */
  FL.csrf = () => {
    const m = document.querySelector('meta[name=csrf-token]');
    return m ? m.content : '';
  };
  FL.send = function (method, path, body) {
    const init = { method, headers: { Accept: 'application/json' } };
    if (FL.csrf()) init.headers['X-CSRF-Token'] = FL.csrf();
    if (body !== undefined) {
      init.headers['Content-Type'] = 'application/json';
      init.body = JSON.stringify(body);
    }
    return call(path, init);
  };
  /** Unix seconds as a local date and time. */
  FL.unix = (s) => (s == null ? '–' : FL.time(new Date(s * 1000).toISOString()));
  /** A severity badge. */
  FL.severity = (s) => FL.el('span', { class: 'sev sev-' + s, text: s });

  /** Marks the page's data as drawn (or failed): the browser tests wait for it. */
  FL.done = () => {
    document.body.dataset.loaded = String(Date.now());
  };
  /** Shows an error where it belongs: filter errors under the filter box. */
  FL.fail = function (err, target) {
    FL.done();
    const isFilter = err && err.code && String(err.code).startsWith('filter');
    if (isFilter) FL.filterError(err.message);
    const msg = isFilter ? 'Fix the filter to see results.' : (err && err.message) || String(err);
    const chart = target && charts.find((c) => c.el === target);
    if (chart) chart.message(msg);
    else if (target) FL.fill(target, FL.el('div', { class: isFilter ? 'empty' : 'error', text: msg }));
    else if (!isFilter) FL.banner(msg);
  };
  FL.banner = function (msg) {
    const b = FL.$('#banner');
    if (!b) return;
    if (!msg) {
      b.hidden = true;
      return;
    }
    FL.fill(b, msg);
    b.hidden = false;
  };
  /** "filter: at column 7: expected …": the filter with a caret under it. */
  FL.filterError = function (message) {
    const box = FL.$('#filter-error');
    const input = FL.$('#filter');
    if (!box) return FL.banner(message);
    if (!message) {
      box.hidden = true;
      if (input) input.removeAttribute('aria-invalid');
      return;
    }
    const m = /column (\d+)/.exec(message);
    const children = [FL.el('div', { class: 'msg', text: message.replace(/^filter: /, '') })];
    if (m && input) {
      const col = Math.max(1, parseInt(m[1], 10));
      children.push(FL.el('pre', { class: 'caret' }, input.value + '\n' + ' '.repeat(col - 1) + '^'));
    }
    FL.fill(box, children);
    box.hidden = false;
    if (input) input.setAttribute('aria-invalid', 'true');
  };

  // --------------------------------------------------------- formatting
  const PREFIX = ['', 'k', 'M', 'G', 'T', 'P', 'E'];
  FL.si = function (n, unit) {
    if (n == null || !isFinite(n)) return '–';
    let v = Math.abs(n);
    let i = 0;
    while (v >= 1000 && i < PREFIX.length - 1) {
      v /= 1000;
      i++;
    }
    const digits = i === 0 && Number.isInteger(v) ? 0 : v >= 100 ? 0 : v >= 10 ? 1 : 2;
    unit = unit || '';
    // "25.4 Mbit/s", "82.0 flows/s", "1.20 k flows/s", "300".
    const sep = unit.startsWith(' ') ? (PREFIX[i] ? '\u202f' + PREFIX[i] : '') : PREFIX[i] || unit ? '\u202f' + PREFIX[i] : '';
    return (n < 0 ? '−' : '') + v.toFixed(digits) + sep + unit;
  };
  FL.bytes = (n) => FL.si(n, 'B');
  FL.bps = (n) => FL.si(n, 'bit/s');
  FL.pps = (n) => FL.si(n, 'pkt/s');
  FL.count = (n) => (n == null ? '–' : Number(n).toLocaleString('en-US'));
  FL.pct = (x) => (x == null || !isFinite(x) ? '–' : (x * 100).toFixed(x < 0.1 ? 1 : 0) + '%');
  FL.metricFormat = { bytes: FL.bytes, packets: (n) => FL.si(n, ' pkts'), flows: (n) => FL.si(n, ' flows') };
  FL.rateFormat = { bytes: (n) => FL.bps(n * 8), packets: FL.pps, flows: (n) => FL.si(n, ' flows/s') };
  const pad = (n) => String(n).padStart(2, '0');
  FL.time = function (iso) {
    if (!iso) return '–';
    const d = new Date(iso);
    if (isNaN(d)) return String(iso);
    return (
      d.getFullYear() + '-' + pad(d.getMonth() + 1) + '-' + pad(d.getDate()) + ' ' +
      pad(d.getHours()) + ':' + pad(d.getMinutes()) + ':' + pad(d.getSeconds())
    );
  };
  FL.duration = function (s) {
    s = Math.floor(s);
    if (s < 60) return s + ' s';
    if (s < 3600) return Math.floor(s / 60) + ' min ' + (s % 60) + ' s';
    if (s < 86400) return Math.floor(s / 3600) + ' h ' + Math.floor((s % 3600) / 60) + ' min';
    return Math.floor(s / 86400) + ' d ' + Math.floor((s % 86400) / 3600) + ' h';
  };
  FL.PROTOCOLS = {
    1: 'ICMP', 2: 'IGMP', 4: 'IPIP', 6: 'TCP', 17: 'UDP', 41: 'IPv6', 46: 'RSVP', 47: 'GRE', 50: 'ESP', 51: 'AH',
    58: 'ICMPv6', 88: 'EIGRP', 89: 'OSPF', 103: 'PIM', 112: 'VRRP', 115: 'L2TP', 132: 'SCTP',
  };
  FL.SERVICES = {
    20: 'ftp-data', 21: 'ftp', 22: 'ssh', 23: 'telnet', 25: 'smtp', 53: 'dns', 67: 'dhcp', 68: 'dhcp', 69: 'tftp',
    80: 'http', 110: 'pop3', 123: 'ntp', 137: 'netbios', 138: 'netbios', 139: 'netbios', 143: 'imap', 161: 'snmp',
    162: 'snmp-trap', 179: 'bgp', 389: 'ldap', 443: 'https', 445: 'smb', 465: 'smtps', 500: 'ike', 514: 'syslog',
    587: 'submission', 636: 'ldaps', 853: 'dns-tls', 993: 'imaps', 995: 'pop3s', 1194: 'openvpn', 1433: 'mssql',
    1521: 'oracle', 1812: 'radius', 1900: 'ssdp', 2055: 'netflow', 3306: 'mysql', 3389: 'rdp', 4500: 'ipsec-nat',
    4739: 'ipfix', 5060: 'sip', 5353: 'mdns', 5432: 'postgres', 5900: 'vnc', 6343: 'sflow', 6379: 'redis',
    8080: 'http-alt', 8443: 'https-alt', 9092: 'kafka', 9200: 'elastic', 11211: 'memcached', 27017: 'mongodb',
  };
  FL.proto = (n) => (n == null ? '–' : FL.PROTOCOLS[n] || String(n));
  FL.port = (n) => (n == null ? '–' : FL.SERVICES[n] ? n + ' (' + FL.SERVICES[n] + ')' : String(n));
  FL.flags = function (f) {
    if (f == null) return '';
    const names = 'FSRPAUEC';
    let s = '';
    for (let i = 7; i >= 0; i--) s += f & (1 << i) ? names[i] : '.';
    return s.replace(/^\.\./, '');
  };
  FL.DIMENSIONS = {
    src_addr: 'Source IP', dst_addr: 'Destination IP', src_ip: 'Source IP', dst_ip: 'Destination IP',
    proto: 'Protocol', src_port: 'Source port', dst_port: 'Destination port', src_as: 'Source AS',
    dst_as: 'Destination AS', src_country: 'Source country', dst_country: 'Destination country',
    exporter: 'Exporter', in_if: 'Input interface', out_if: 'Output interface', ip_version: 'IP version',
    src_net: 'Source network', dst_net: 'Destination network', src_env: 'Source environment',
    dst_env: 'Destination environment', src_dc: 'Source datacenter', dst_dc: 'Destination datacenter',
  };
  /** A dimension's value as a person reads it. */
  FL.dimText = function (dim, v) {
    if (v == null) {
      if (dim.endsWith('country')) return '(unknown)';
      if (/_(net|env|dc)$/.test(dim)) return '(unclassified)';
      return '(none)';
    }
    if (dim === 'proto' || dim === 'protocol') return FL.proto(v);
    if (dim.endsWith('_port')) return FL.port(v);
    if (dim.endsWith('_as')) return 'AS' + v;
    if (dim === 'ip_version') return 'IPv' + v;
    if (dim.endsWith('_if')) return 'if ' + v;
    return String(v);
  };
  /** The value, linked to its page where it has one; `name` is the AS
   * organisation when the API gave one. */
  FL.dimNode = function (dim, v, name) {
    const text = FL.dimText(dim, v) + (name ? ' ' + name : '');
    if (v != null && /^(src|dst)_(addr|ip)$/.test(dim)) return FL.el('a', { href: FL.ipHref(v), class: 'mono' }, text);
    return FL.el('span', { class: /addr|exporter/.test(dim) ? 'mono' : '' }, text);
  };

  // ------------------------------------------------------------- tables
  /**
   * columns: [{label, num, value(row) -> text|Node, sort (API key), title}]
   * opts: {sort, direction, onSort(key), empty, rowClick(row)}
   */
  FL.table = function (columns, rows, opts) {
    opts = opts || {};
    if (!rows.length) return FL.el('div', { class: 'empty', text: opts.empty || 'Nothing in this range.' });
    const head = FL.el(
      'tr',
      null,
      columns.map((c) => {
        const th = FL.el('th', { class: c.num ? 'num' : '', title: c.title, scope: 'col' });
        if (c.sort && opts.onSort) {
          const active = opts.sort === c.sort;
          th.setAttribute('aria-sort', active ? (opts.direction === 'asc' ? 'ascending' : 'descending') : 'none');
          th.append(
            FL.el(
              'button',
              { type: 'button', class: 'sort' + (active ? ' active' : ''), 'data-sort': c.sort, onclick: () => opts.onSort(c.sort) },
              c.label,
              active ? (opts.direction === 'asc' ? ' ▲' : ' ▼') : ''
            )
          );
        } else th.textContent = c.label;
        return th;
      })
    );
    const body = rows.map((r) => {
      const tr = FL.el(
        'tr',
        null,
        columns.map((c) => {
          const v = c.value(r);
          return FL.el('td', { class: (c.num ? 'num' : '') + (c.cls ? ' ' + c.cls : '') }, v);
        })
      );
      if (opts.rowClick) {
        tr.classList.add('clickable');
        tr.tabIndex = 0;
        tr.addEventListener('click', (e) => {
          if (e.target.closest('a')) return;
          opts.rowClick(r, tr);
        });
        tr.addEventListener('keydown', (e) => {
          if (e.key === 'Enter') opts.rowClick(r, tr);
        });
      }
      return tr;
    });
    return FL.el('div', { class: 'table-wrap' }, FL.el('table', { class: 'data' }, FL.el('thead', null, head), FL.el('tbody', null, body)));
  };

  /** A share bar with its label: for top-N tables. */
  FL.bar = function (share, text) {
    const fill = FL.el('span', { class: 'fill' });
    fill.style.width = Math.max(0, Math.min(100, share * 100)).toFixed(1) + '%';
    return FL.el('span', { class: 'bar' }, fill, FL.el('span', { class: 'bar-text', text }));
  };

  /** A top-N answer (`/api/v1/top`) as a table with share bars. */
  FL.topTable = function (resp, opts) {
    opts = opts || {};
    const dims = resp.by;
    const metric = resp.metric;
    const total = resp.total[metric] || 0;
    const fmt = FL.metricFormat[metric];
    const rows = resp.rows.slice();
    if (resp.other && resp.other[metric] > 0) rows.push({ other: true, key: {}, ...resp.other });
    const cols = dims.map((d, i) => ({
      label: FL.DIMENSIONS[d] || d,
      value: (r) => (r.other ? FL.el('span', { class: 'dim', text: 'other' }) : FL.dimNode(d, r.key[d], r.names && r.names[d])),
      cls: i === 0 ? 'key' : '',
    }));
    cols.push({
      label: opts.label || metric,
      num: true,
      cls: 'share',
      value: (r) => FL.bar(total ? r[metric] / total : 0, fmt(r[metric])),
    });
    cols.push({ label: '%', num: true, value: (r) => FL.pct(total ? r[metric] / total : 0) });
    return FL.table(cols, rows, { empty: opts.empty });
  };

  // ------------------------------------------------------------- charts
  FL.PALETTE = ['#3b82f6', '#10b981', '#f59e0b', '#ef4444', '#8b5cf6', '#06b6d4', '#ec4899', '#84cc16', '#f97316', '#6366f1', '#14b8a6', '#a3a3a3'];
  const css = (name) => getComputedStyle(document.documentElement).getPropertyValue(name).trim();
  FL.colors = () => ({ text: css('--text'), muted: css('--muted'), grid: css('--grid'), panel: css('--panel'), border: css('--border') });
  const charts = [];
  /** A chart whose option is rebuilt on theme change: build() -> option. */
  FL.chart = function (el) {
    const c = {
      el,
      build: null,
      inst: null,
      set(build) {
        c.build = build;
        c.render();
      },
      dispose() {
        if (c.inst) c.inst.dispose();
        c.inst = null;
      },
      /** A message in place of the chart (nothing to draw, an error). */
      message(text) {
        c.build = null;
        c.dispose();
        FL.fill(el, FL.el('div', { class: 'empty', text }));
      },
      render() {
        if (!c.build) return;
        if (!window.echarts) return c.message('The chart library did not load; reload the page.');
        if (!c.inst) {
          el.replaceChildren();
          c.inst = window.echarts.init(el, null, { renderer: 'canvas' });
        }
        c.inst.setOption(c.build(FL.colors()), true);
      },
    };
    charts.push(c);
    return c;
  };
  FL.chartsRendered = () => charts.filter((c) => c.inst).length;
  let resizeTimer = 0;
  window.addEventListener('resize', () => {
    clearTimeout(resizeTimer);
    resizeTimer = setTimeout(() => charts.forEach((c) => c.inst && c.inst.resize()), 100);
  });
  function rethemeCharts() {
    for (const c of charts) {
      if (!c.inst) continue;
      c.dispose();
      c.render();
    }
  }

  const axisCommon = (col) => ({
    axisLine: { lineStyle: { color: col.border } },
    axisLabel: { color: col.muted },
    splitLine: { lineStyle: { color: col.grid } },
  });
  /**
   * A time-series option: times (ISO), series [{name, values}], format(n)
   * for the axis and tooltip, stacked area or lines.
   */
  FL.timeOption = function (col, times, series, format, kind) {
    const ts = times.map((t) => new Date(t).getTime());
    const stacked = kind !== 'lines';
    return {
      color: FL.PALETTE,
      backgroundColor: 'transparent',
      animation: false,
      grid: { left: 8, right: 16, top: 16, bottom: 56, containLabel: true },
      tooltip: {
        trigger: 'axis',
        backgroundColor: col.panel,
        borderColor: col.border,
        textStyle: { color: col.text },
        formatter(ps) {
          if (!ps.length) return '';
          const total = stacked ? ps.reduce((a, p) => a + (p.value[1] || 0), 0) : null;
          const lines = ps
            .filter((p) => p.value[1])
            .map((p) => p.marker + FL.esc(p.seriesName) + ': <b>' + FL.esc(format(p.value[1])) + '</b>');
          return FL.esc(FL.time(new Date(ps[0].value[0]).toISOString())) + '<br>' + lines.join('<br>') +
            (total != null && ps.length > 1 ? '<br>Total: <b>' + FL.esc(format(total)) + '</b>' : '');
        },
      },
      legend: { type: 'scroll', bottom: 0, textStyle: { color: col.text }, pageTextStyle: { color: col.muted } },
      xAxis: { type: 'time', ...axisCommon(col), axisLabel: { color: col.muted, hideOverlap: true }, splitLine: { show: false } },
      yAxis: { type: 'value', ...axisCommon(col), axisLabel: { color: col.muted, formatter: (v) => format(v) } },
      series: series.map((s) => ({
        name: s.name,
        type: 'line',
        stack: stacked ? 'total' : undefined,
        areaStyle: stacked ? { opacity: 0.55 } : undefined,
        showSymbol: false,
        lineStyle: { width: stacked ? 1 : 2 },
        emphasis: { focus: 'series' },
        data: ts.map((t, i) => [t, s.values[i] || 0]),
      })),
    };
  };
  FL.pieOption = function (col, items, format) {
    return {
      color: FL.PALETTE,
      backgroundColor: 'transparent',
      animation: false,
      tooltip: {
        trigger: 'item',
        backgroundColor: col.panel,
        borderColor: col.border,
        textStyle: { color: col.text },
        formatter: (p) => FL.esc(p.name) + ': <b>' + FL.esc(format(p.value)) + '</b> (' + p.percent + '%)',
      },
      legend: { type: 'scroll', orient: 'vertical', right: 0, top: 'middle', textStyle: { color: col.text } },
      series: [
        {
          type: 'pie',
          radius: ['45%', '75%'],
          center: ['35%', '50%'],
          itemStyle: { borderColor: col.panel, borderWidth: 2 },
          label: { show: false },
          data: items,
        },
      ],
    };
  };

  // -------------------------------------------------------------- theme
  FL.theme = () =>
    document.documentElement.dataset.theme || (matchMedia('(prefers-color-scheme: dark)').matches ? 'dark' : 'light');
  function setTheme(t) {
    document.documentElement.dataset.theme = t;
    try {
      localStorage.setItem('flowlens-theme', t);
    } catch (e) {
      /* private mode: the choice lasts this page */
    }
    rethemeCharts();
  }
  FL.setTheme = setTheme;
  matchMedia('(prefers-color-scheme: dark)').addEventListener('change', () => {
    if (!document.documentElement.dataset.theme) rethemeCharts();
  });

  // ----------------------------------------------------------- controls
  const toLocalInput = (d) =>
    d.getFullYear() + '-' + pad(d.getMonth() + 1) + '-' + pad(d.getDate()) + 'T' + pad(d.getHours()) + ':' + pad(d.getMinutes()) + ':' + pad(d.getSeconds());
  /** Parses what the range accepts for the custom inputs (relative: from now). */
  function rangeDate(s) {
    if (!s || s === 'now') return new Date();
    const rel = /^-?(\d+)([smhdw])$/.exec(s);
    if (rel) {
      const mult = { s: 1, m: 60, h: 3600, d: 86400, w: 604800 }[rel[2]];
      return new Date(Date.now() - parseInt(rel[1], 10) * mult * 1000);
    }
    if (/^\d+$/.test(s)) return new Date(parseInt(s, 10) * 1000);
    const d = new Date(s);
    return isNaN(d) ? new Date() : d;
  }

  function wireControls() {
    const form = FL.$('#controls');
    if (!form) return;
    const since = FL.$('#since');
    const custom = FL.$('#custom-range');
    const from = FL.$('#from');
    const to = FL.$('#to');
    if (custom && from && to) {
      const p = FL.params();
      const raw = FL.$('#since-raw');
      from.value = toLocalInput(rangeDate(raw ? raw.value : p.get('since') || '1h'));
      to.value = toLocalInput(rangeDate(p.get('until') || 'now'));
    }
    if (since) {
      since.addEventListener('change', () => {
        if (since.value === 'custom') {
          if (custom) custom.hidden = false;
          if (from) from.focus();
          return;
        }
        submit();
      });
    }
    form.addEventListener('submit', (e) => {
      e.preventDefault();
      submit();
    });
    function submit() {
      const data = new FormData(form);
      const p = new URLSearchParams();
      for (const [k, v] of data.entries()) if (v !== '' && k !== 'since' && k !== 'until') p.set(k, v);
      if (since) {
        if (since.value === 'custom') {
          const a = from && from.value ? new Date(from.value) : null;
          const b = to && to.value ? new Date(to.value) : null;
          if (!a || isNaN(a) || !b || isNaN(b) || b <= a) {
            FL.banner('Choose a start before the end for a custom range.');
            return;
          }
          p.set('since', a.toISOString());
          p.set('until', b.toISOString());
        } else {
          p.set('since', since.value);
        }
      }
      // Page options that are not form fields stay (sorting, columns).
      const keep = FL.params();
      for (const k of form.dataset.keep ? form.dataset.keep.split(',') : []) if (keep.get(k) && !p.has(k)) p.set(k, keep.get(k));
      location.assign(location.pathname + '?' + p.toString());
    }
    FL.submitControls = submit;
    for (const b of FL.$$('button.example')) {
      b.addEventListener('click', () => {
        FL.$('#filter').value = b.dataset.filter;
        submit();
      });
    }
    // Check the filter as it is typed (a one-row question, range of 1 s).
    const input = FL.$('#filter');
    let timer = 0;
    let seq = 0;
    if (input) {
      input.addEventListener('input', () => {
        clearTimeout(timer);
        timer = setTimeout(async () => {
          const mine = ++seq;
          const f = input.value.trim();
          if (!f) return FL.filterError(null);
          try {
            await FL.api('/api/v1/flows', { filter: f, since: '1s', limit: 1 });
            if (mine === seq) FL.filterError(null);
          } catch (err) {
            if (mine === seq && String(err.code).startsWith('filter')) FL.filterError(err.message);
          }
        }, 400);
      });
    }
  }

  /** Runs `load` now and, while the range follows the clock, every `ms`. */
  FL.every = function (ms, load) {
    let running = false;
    const tick = async () => {
      if (running || document.hidden) return;
      running = true;
      try {
        await load();
      } finally {
        running = false;
      }
    };
    tick();
    if (FL.isLive()) setInterval(tick, ms);
    window.addEventListener('popstate', () => tick());
    return tick;
  };

  /** Shows the "no flows yet" panel instead of the page's panels. */
  FL.empty = function (isEmpty) {
    const e = FL.$('#empty');
    if (!e) return;
    e.hidden = !isEmpty;
    for (const x of FL.$$('.hide-when-empty')) x.hidden = isEmpty;
  };

  document.addEventListener('DOMContentLoaded', () => {
    const out = FL.$('#logout');
    if (out)
      out.addEventListener('click', async () => {
        try {
          await FL.send('POST', '/logout');
        } catch (e) {
          // Signed out already: the login page either way.
        }
        location.href = '/login';
      });
    const btn = FL.$('#theme-toggle');
    if (btn) btn.addEventListener('click', () => setTheme(FL.theme() === 'dark' ? 'light' : 'dark'));
    wireControls();
  });
})();
