// Alerts and the rule editor.
'use strict';
(function () {
  const { $, el, fill, api } = FL;
  const form = $('#rule-form');
  let rules = [];
  const metricText = {
    bytes_per_second: 'bytes/s',
    bits_per_second: 'bits/s',
    packets_per_second: 'packets/s',
    flows_per_second: 'flows/s',
    unique_peers: 'unique peers',
    unique_ports: 'unique ports',
  };
  const alertCols = [
    { label: 'Severity', value: (a) => FL.severity(a.severity) },
    { label: 'State', value: (a) => (a.resolved ? 'resolved' : el('strong', { text: 'firing' })) },
    { label: 'Rule', value: (a) => a.rule },
    { label: 'Subject', cls: 'key', value: (a) => (a.subject === 'all' ? 'all' : FL.dimNode('src_addr', a.subject)) },
    { label: 'What', value: (a) => a.description },
    { label: 'Started', value: (a) => FL.unix(a.started) },
    { label: 'Resolved', value: (a) => FL.unix(a.resolved) },
    { label: 'Notified', value: (a) => (a.notified ? 'yes' : 'no (cool-down)') },
  ];
  const ruleCols = [
    { label: 'Name', value: (r) => r.name },
    { label: 'Filter', cls: 'key', value: (r) => r.filter || 'all traffic' },
    { label: 'Condition', value: (r) => metricText[r.metric] + (r.by && r.by !== 'none' ? ' per ' + r.by.replace('_addr', ' address') : '') + ' ' + r.op + ' ' + FL.count(r.threshold) },
    { label: 'Window', value: (r) => r.window + (r.for && r.for !== '0s' ? ', for ' + r.for : '') },
    { label: 'Severity', value: (r) => FL.severity(r.severity) },
    { label: 'Webhooks', value: (r) => (r.webhooks || []).join(', ') || '–' },
    { label: 'Enabled', value: (r) => (r.enabled ? 'yes' : 'no') },
    {
      label: '',
      value: (r) =>
        el(
          'span',
          { class: 'row-actions' },
          el('button', { type: 'button', class: 'link', onclick: () => edit(r), text: 'Edit' }),
          el('button', { type: 'button', class: 'link danger', onclick: () => remove(r), text: 'Delete' })
        ),
    },
  ];
  async function load() {
    try {
      const [a, r] = await Promise.all([api('/api/v1/alerts', { limit: 200 }), api('/api/v1/alert-rules')]);
      FL.banner(null);
      rules = r.rules;
      fill($('#alert-list'), FL.table(alertCols, a.alerts, { empty: 'No alert has fired.' }));
      fill($('#rule-list'), FL.table(ruleCols, rules, { empty: 'No rules yet: add one below.' }));
      FL.done();
    } catch (e) {
      FL.fail(e, $('#alert-list'));
    }
  }
  function reset() {
    form.reset();
    form.elements.id.value = '';
    $('#rule-form-title').textContent = 'New rule';
    $('#rule-save').textContent = 'Add rule';
    $('#rule-cancel').hidden = true;
    $('#rule-error').textContent = '';
  }
  function edit(r) {
    reset();
    const f = form.elements;
    f.id.value = r.id;
    for (const k of ['name', 'filter', 'metric', 'by', 'op', 'threshold', 'window', 'for', 'severity', 'cooldown']) if (r[k] != null && f[k]) f[k].value = r[k];
    for (const box of form.querySelectorAll('input[name=webhooks]')) box.checked = (r.webhooks || []).includes(box.value);
    f.enabled.checked = r.enabled;
    $('#rule-form-title').textContent = 'Edit rule ' + r.id;
    $('#rule-save').textContent = 'Save rule';
    $('#rule-cancel').hidden = false;
    form.scrollIntoView({ behavior: 'smooth' });
  }
  async function remove(r) {
    if (!confirm('Delete the rule "' + r.name + '"? Its alerts stay in the history.')) return;
    try {
      await FL.send('DELETE', '/api/v1/alert-rules/' + r.id);
      await load();
    } catch (e) {
      FL.banner(e.message);
    }
  }
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const f = form.elements;
    const body = {
      name: f.name.value.trim(),
      filter: f.filter.value.trim(),
      metric: f.metric.value,
      by: f.by.value,
      op: f.op.value,
      threshold: Number(f.threshold.value),
      window: f.window.value.trim(),
      for: f.for.value.trim() || '0s',
      severity: f.severity.value,
      cooldown: f.cooldown.value.trim() || '10m',
      webhooks: [...form.querySelectorAll('input[name=webhooks]:checked')].map((b) => b.value),
      enabled: f.enabled.checked,
    };
    try {
      if (f.id.value) await FL.send('PATCH', '/api/v1/alert-rules/' + f.id.value, body);
      else await FL.send('POST', '/api/v1/alert-rules', body);
      reset();
      await load();
    } catch (e) {
      $('#rule-error').textContent = e.message;
    }
  });
  $('#rule-cancel').addEventListener('click', reset);
  FL.every(10000, load);
})();
