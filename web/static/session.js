// session.js: the resident login as the client sees it. It adds a Log out
// button when intercomd has a password, and sends the page to the login
// when the session ends (logged out elsewhere, expired, new password): the
// browser hides a refused WebSocket's status, so on every drop it asks
// /api/auth. Without login (-no-auth) /api/auth says noLogin (no password)
// and this does nothing. Test hooks: #logout (the button).

import { t } from './i18n.js';

async function authStatus() {
  try {
    const r = await fetch('/api/auth', { cache: 'no-store', credentials: 'same-origin' });
    return r.ok ? await r.json() : null;
  } catch {
    return null; // offline: the client says so; ask again on the next drop
  }
}

function addLogout() {
  // The footer, beside the version: the header has no room on a phone.
  const place = document.querySelector('footer.foot') || document.body;
  if (document.getElementById('logout')) return;
  const button = document.createElement('button');
  button.id = 'logout';
  button.type = 'button';
  button.className = 'ghost small';
  button.textContent = t('session.logout');
  button.style.marginLeft = '12px'; // CSSOM, which the CSP allows
  // fetch, not a form: under Referrer-Policy no-referrer a form's POST
  // carries "Origin: null", which the Origin check refuses.
  button.addEventListener('click', async () => {
    button.disabled = true;
    try {
      await fetch('/api/logout', { method: 'POST', credentials: 'same-origin' });
    } catch { /* offline: the session stays, the login page will say so */ }
    location.replace('/login');
  });
  place.append(button);
}

let checking = false;
async function checkSession() {
  if (checking || document.body.dataset.conn === 'online') return;
  checking = true;
  const st = await authStatus();
  checking = false;
  if (st && st.passwordSet && !st.authenticated) toLogin();
}

function toLogin() {
  location.replace('/login?next=' + encodeURIComponent(location.pathname + location.search));
}

const st = await authStatus();
if (st && st.passwordSet) {
  if (!st.authenticated) toLogin();
  addLogout();
  new MutationObserver(checkSession).observe(document.body, { attributes: true, attributeFilter: ['data-conn'] });
}
