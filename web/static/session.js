// session.js: the resident login as the client sees it. It adds a Log out
// button when intercomd has a password, and sends the page to the login
// when the session ends (logged out elsewhere, expired, new password): the
// browser hides a refused WebSocket's status, so on every drop it asks
// /api/auth. Without login (-no-auth) /api/auth is absent and this does
// nothing. Test hooks: #logout (the button).

async function authStatus() {
  try {
    const r = await fetch('/api/auth', { cache: 'no-store', credentials: 'same-origin' });
    return r.ok ? await r.json() : null;
  } catch {
    return null; // offline: the client says so; ask again on the next drop
  }
}

function addLogout() {
  const header = document.querySelector('header.top');
  if (!header || document.getElementById('logout')) return;
  const form = document.createElement('form');
  form.method = 'post';
  form.action = '/api/logout';
  form.style.marginLeft = 'auto'; // CSSOM, which the CSP allows
  const button = document.createElement('button');
  button.id = 'logout';
  button.type = 'submit';
  button.className = 'ghost small';
  button.textContent = 'Log out';
  form.append(button);
  header.append(form);
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
