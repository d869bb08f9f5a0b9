// i18n.js: the client's words in the resident's language. English is the
// source (lang/en.json); each other language is lang/CODE.json with the same
// keys, and a key it lacks falls back to English. Import it before anything
// that writes words: its top-level await loads the words first.
//
//   t('end.busy', { name: 'Door' })   -> "Door is busy. Try again later."
//   <button data-i18n="call.end">     -> textContent set by translate()
//   data-i18n-aria-label, data-i18n-placeholder, data-i18n-title,
//   data-i18n-alt                     -> those attributes set by translate()
//
// The language is the one chosen in the settings (localStorage
// intercom.lang), else the browser's first one we have, else English.
// setLanguage() switches at once and fires 'languagechanged' on window, so
// modules that drew words redraw them.

export const languages = {
  en: 'English',
  de: 'Deutsch',
  fr: 'Français',
  es: 'Español',
  it: 'Italiano',
  nl: 'Nederlands',
};

const key = 'intercom.lang';
let code = 'en';
let words = {};
let english = {};

async function load(c) {
  const r = await fetch(`lang/${c}.json`);
  if (!r.ok) throw new Error(`lang/${c}.json: HTTP ${r.status}`);
  return r.json();
}

// chosen is the setting, '' for the browser's language.
export function chosen() {
  try {
    const c = localStorage.getItem(key) || '';
    return c in languages ? c : '';
  } catch {
    return '';
  }
}

// browserLanguage is the first of the browser's languages we speak.
export function browserLanguage() {
  for (const l of navigator.languages || [navigator.language || 'en']) {
    const c = l.toLowerCase().split('-')[0];
    if (c in languages) return c;
  }
  return 'en';
}

// language is the code in use now (en, de, ...), for Intl and <html lang>.
export const language = () => code;

// t returns key's words with {name} placeholders filled from vars.
export function t(k, vars = {}) {
  let text = words[k] ?? english[k];
  if (text === undefined) {
    console.warn('i18n: no words for', k);
    return k;
  }
  return text.replace(/\{(\w+)\}/g, (m, v) => (v in vars ? String(vars[v]) : m));
}

const attrs = ['aria-label', 'placeholder', 'title', 'alt'];

// translate sets the words of every element under root that asks for them.
export function translate(root = document) {
  for (const el of root.querySelectorAll('[data-i18n]')) el.textContent = t(el.dataset.i18n);
  for (const a of attrs) {
    for (const el of root.querySelectorAll(`[data-i18n-${a}]`)) el.setAttribute(a, t(el.getAttribute(`data-i18n-${a}`)));
  }
  // A page in our words says which language they are in.
  if (root === document && document.querySelector('[data-i18n]')) document.documentElement.lang = code;
}

// setLanguage switches to c ('' = the browser's) and redraws the page.
export async function setLanguage(c) {
  try {
    if (c) localStorage.setItem(key, c);
    else localStorage.removeItem(key);
  } catch {
    // private mode: not remembered
  }
  await use(c || browserLanguage());
  translate();
  window.dispatchEvent(new Event('languagechanged'));
}

async function use(c) {
  const [en, w] = await Promise.all([load('en'), c === 'en' ? null : load(c).catch(() => null)]);
  english = en;
  words = w || en;
  code = w || c === 'en' ? c : 'en';
}

// time and date format a Date (or ms) in the language in use: "14:05",
// "Mon 30 Nov, 14:05".
export const time = (d) => new Intl.DateTimeFormat(code, { hour: 'numeric', minute: '2-digit' }).format(d);
export const dateTime = (d) =>
  new Intl.DateTimeFormat(code, { weekday: 'short', day: 'numeric', month: 'short', hour: 'numeric', minute: '2-digit' }).format(d);

await use(chosen() || browserLanguage());
translate();
