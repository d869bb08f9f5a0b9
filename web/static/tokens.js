// tokens.js: API tokens for other software (docs/API.md): a resident with
// a session makes one (name, scope, expiry), sees its secret once, and
// revokes it. The card shows only where there is a login (/api/auth says a
// password is set and this page has a session).

import { t as tr, language } from './i18n.js';

const $ = (id) => document.getElementById(id);

async function api(method, path, body) {
  const r = await fetch(path, {
    method,
    credentials: 'same-origin',
    cache: 'no-store',
    headers: body ? { 'Content-Type': 'application/json' } : {},
    body: body ? JSON.stringify(body) : undefined,
  });
  const data = r.status === 204 ? null : await r.json().catch(() => null);
  if (!r.ok) throw new Error((data && data.error) || `${r.status}`);
  return data;
}

function draw(tokens) {
  const ul = $('token-list');
  ul.textContent = '';
  for (const tok of tokens) {
    const li = document.createElement('li');
    li.dataset.token = tok.id;
    const text = document.createElement('span');
    text.className = 'who';
    const name = document.createElement('span');
    name.className = 'uname';
    name.textContent = tok.name;
    const sub = document.createElement('span');
    sub.className = 'sub';
    sub.textContent = tr(tok.scope === 'open' ? 'tokens.scopeopen' : 'tokens.scoperead') + ' · ' +
      (tok.expires ? tr('tokens.until', { date: new Date(tok.expires).toLocaleDateString(language()) }) : tr('tokens.noexpiry'));
    text.append(name, sub);
    const b = document.createElement('button');
    b.type = 'button';
    b.className = 'ghost small';
    b.dataset.revoke = tok.id;
    b.textContent = tr('tokens.revoke');
    b.setAttribute('aria-label', tr('tokens.revokename', { name: tok.name }));
    li.append(text, b);
    ul.append(li);
  }
  $('token-empty').hidden = tokens.length > 0;
}

async function load() {
  try {
    draw((await api('GET', '/api/tokens')).tokens);
  } catch (e) {
    $('token-error').textContent = tr('tokens.listfailed', { reason: e.message });
  }
}

async function start() {
  let st = null;
  try {
    const r = await fetch('/api/auth', { cache: 'no-store', credentials: 'same-origin' });
    st = r.ok ? await r.json() : null;
  } catch {
    return;
  }
  if (!st || !st.passwordSet || !st.authenticated) return;
  $('tokens').hidden = false;
  $('tokens').addEventListener('toggle', () => $('tokens').open && load());
  window.addEventListener('languagechanged', () => $('tokens').open && load());
  $('token-form').addEventListener('submit', async (e) => {
    e.preventDefault();
    $('token-error').textContent = '';
    try {
      const out = await api('POST', '/api/tokens', {
        name: $('token-name').value,
        scope: $('token-scope').value,
        days: Number($('token-days').value),
      });
      $('token-secret').textContent = out.secret;
      $('token-new').hidden = false;
      $('token-name').value = '';
      load();
    } catch (err) {
      $('token-error').textContent = err.message;
    }
  });
  $('token-list').addEventListener('click', async (e) => {
    const b = e.target.closest('[data-revoke]');
    if (!b) return;
    try {
      await api('DELETE', '/api/tokens/' + encodeURIComponent(b.dataset.revoke));
    } catch (err) {
      $('token-error').textContent = err.message;
    }
    load();
  });
}

start();
