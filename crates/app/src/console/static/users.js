// Users (admins): every account, add, change role/scope/password, delete.
(function () {
  'use strict';
  const { $, el, fill } = FL;
  const form = $('#user-form');
  const words = (s) => s.split(/[\s,]+/).filter(Boolean);
  const scopeText = (s) =>
    s
      ? [s.exporters.length ? 'exporters ' + s.exporters.join(' ') : '', s.networks.length ? 'networks ' + s.networks.join(' ') : '']
          .filter(Boolean)
          .join('; ')
      : 'everything';

  function reset() {
    form.reset();
    form.elements.id.value = '';
    form.elements.name.disabled = false;
    $('#user-form-title').textContent = 'New user';
    $('#user-save').textContent = 'Add user';
    $('#user-cancel').hidden = true;
  }
  function edit(u) {
    reset();
    const f = form.elements;
    f.id.value = u.id;
    f.name.value = u.name;
    f.name.disabled = true;
    f.role.value = u.role;
    f.exporters.value = u.scope ? u.scope.exporters.join(' ') : '';
    f.networks.value = u.scope ? u.scope.networks.join(' ') : '';
    f.password.placeholder = 'empty: keep the password';
    $('#user-form-title').textContent = 'Change ' + u.name;
    $('#user-save').textContent = 'Save';
    $('#user-cancel').hidden = false;
    form.scrollIntoView({ behavior: 'smooth' });
  }
  async function load() {
    try {
      const r = await FL.api('/api/v1/users');
      fill(
        $('#user-list'),
        FL.table(
          [
            { label: 'Name', value: (u) => u.name },
            { label: 'Role', value: (u) => u.role },
            { label: 'Sees', value: (u) => scopeText(u.scope) },
            { label: 'Sessions', num: true, value: (u) => u.sessions },
            { label: 'Tokens', num: true, value: (u) => u.tokens },
            { label: 'Changed', value: (u) => FL.unix(u.updated) },
            {
              label: '',
              value: (u) => [
                el('button', { type: 'button', class: 'link', text: 'Change', onclick: () => edit(u) }),
                ' ',
                el('button', {
                  type: 'button',
                  class: 'link danger',
                  text: 'Delete',
                  onclick: async () => {
                    if (!confirm('Delete ' + u.name + '? Their sessions and tokens end now.')) return;
                    try {
                      await FL.send('DELETE', '/api/v1/users/' + u.id);
                      await load();
                    } catch (e) {
                      FL.banner(e.message);
                    }
                  },
                }),
              ],
            },
          ],
          r.users,
          { empty: 'No users.' }
        )
      );
    } catch (e) {
      FL.fail(e, $('#user-list'));
    }
    FL.done();
  }
  $('#user-cancel').addEventListener('click', reset);
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const f = form.elements;
    const note = $('#user-note');
    const exporters = words(f.exporters.value);
    const networks = words(f.networks.value);
    const scope = exporters.length || networks.length ? { exporters, networks } : null;
    try {
      let u;
      if (f.id.value) {
        const body = { role: f.role.value, scope };
        if (f.password.value) body.password = f.password.value;
        u = await FL.send('PATCH', '/api/v1/users/' + f.id.value, body);
        note.textContent = 'Saved ' + u.name + '.';
      } else {
        const body = { name: f.name.value.trim(), role: f.role.value };
        if (f.password.value) body.password = f.password.value;
        if (scope) body.scope = scope;
        u = await FL.send('POST', '/api/v1/users', body);
        note.textContent = u.password ? 'Added ' + u.name + ' with the password ' + u.password + ' — pass it on now, it is not shown again.' : 'Added ' + u.name + '.';
      }
      note.className = 'note ok';
      reset();
      await load();
    } catch (e) {
      note.className = 'note error';
      note.textContent = e.message;
    }
  });
  load();
})();
