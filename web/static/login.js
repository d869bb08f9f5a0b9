// login.js: the login and first-password page. It asks /api/auth what to
// show, posts the password as JSON, and goes to / once a session cookie is
// set. No framework, no inline script (the page's CSP forbids it).

import { t } from './i18n.js';

const $ = (id) => document.getElementById(id);
document.title = t('login.doctitle');

// next is where to go after logging in: the page that sent us here, if it
// is one of ours (never another site).
function next() {
  try {
    const u = new URL(new URLSearchParams(location.search).get('next') || '/', location.origin);
    if (u.origin === location.origin && !u.pathname.startsWith('/login')) return u.pathname + u.search + u.hash;
  } catch { /* not a URL: go home */ }
  return '/';
}

function show(mode) {
  document.body.dataset.mode = mode;
  for (const id of ['login', 'setup', 'nosetup', 'safemode', 'failed']) $(id).hidden = id !== mode;
  const first = { login: 'password', setup: $('code-field').hidden ? 'new-password' : 'setup-code' }[mode];
  if (first) $(first).focus();
}

// fingerprint groups the hex pairs in fours so a person can compare them.
function showFingerprint(fp) {
  $('cert').hidden = !fp;
  $('fingerprint').textContent = '';
  if (!fp) return;
  const pairs = fp.split(':');
  for (let i = 0; i < pairs.length; i += 4) {
    const group = document.createElement('span');
    group.textContent = pairs.slice(i, i + 4).join(':');
    $('fingerprint').append(group, ' ');
  }
  $('fingerprint').dataset.value = fp;
}

async function load() {
  let st;
  try {
    const r = await fetch('/api/auth', { cache: 'no-store', credentials: 'same-origin' });
    if (!r.ok) throw new Error(`the intercom answered ${r.status}`);
    st = await r.json();
  } catch (e) {
    $('failed-text').textContent = t('login.failedtext', { reason: e.message });
    showFingerprint('');
    show('failed');
    return;
  }
  showFingerprint(st.fingerprint || '');
  $('ca-steps').hidden = !st.ca;
  if (st.problem) {
    // Safe mode: a damaged password or certificate file; say what to run.
    $('safemode-what').textContent = st.problem.what;
    $('safemode-fix').textContent = st.problem.fix;
    show('safemode');
    return;
  }
  if (st.authenticated) {
    location.replace(next());
    return;
  }
  if (st.passwordSet) {
    show('login');
  } else if (st.setup) {
    $('code-field').hidden = st.setup !== 'code';
    show('setup');
  } else {
    show('nosetup');
  }
}

// post sends the form to the login API; true when logged in.
async function post(path, body, errorEl, button) {
  errorEl.textContent = '';
  button.disabled = true;
  try {
    const r = await fetch(path, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      credentials: 'same-origin',
      body: JSON.stringify(body),
    });
    if (r.ok) return true;
    let msg = t('login.status', { status: r.status });
    try {
      msg = (await r.json()).error || msg;
    } catch { /* not JSON: keep the status */ }
    // The answers a resident meets, in their language; the rarer ones
    // as the intercom words them.
    const secs = Number(r.headers.get('Retry-After'));
    if (r.status === 429 && secs > 0) msg = t('login.toomany', { secs });
    else if (r.status === 401 && path === '/api/login') msg = t('login.wrong');
    else if (r.status === 403 && path === '/api/setup' && !$('code-field').hidden && body.code) msg = t('login.wrongcode');
    errorEl.textContent = msg;
  } catch {
    errorEl.textContent = t('login.unreachable');
  } finally {
    button.disabled = false;
  }
  return false;
}

$('login-form').addEventListener('submit', async (ev) => {
  ev.preventDefault();
  const pw = $('password').value;
  if (!pw) {
    $('login-error').textContent = t('login.enter');
    return;
  }
  if (await post('/api/login', { password: pw }, $('login-error'), ev.submitter || ev.target.querySelector('button'))) {
    location.replace(next());
  } else {
    $('password').select();
  }
});

$('setup-form').addEventListener('submit', async (ev) => {
  ev.preventDefault();
  const err = $('setup-error');
  const pw = $('new-password').value;
  if ([...pw].length < 8) {
    err.textContent = t('login.short');
    return;
  }
  if (pw !== $('new-password2').value) {
    err.textContent = t('login.differ');
    return;
  }
  const body = { password: pw };
  if (!$('code-field').hidden) body.code = $('setup-code').value.trim();
  if (await post('/api/setup', body, err, ev.submitter || ev.target.querySelector('button'))) {
    location.replace(next());
  }
});

$('retry').addEventListener('click', load);

load();
