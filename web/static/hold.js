// hold.js: a button that acts only when held (the door opener): pressing
// it fills it over `ms`; letting go earlier does nothing but say "Hold to
// open". From the keyboard (a click with no pointer) the first press arms
// it and a second one within 3 s acts, so it stays usable without a
// pointer and still takes two deliberate steps.

import { t } from './i18n.js';

// holdToAct makes el call act after a hold of ms; hint(text) shows what to
// do ('' clears it).
export function holdToAct(el, ms, act, hint) {
  let timer = 0;
  let armed = 0;
  const cancel = (say) => {
    if (!timer) return;
    clearTimeout(timer);
    timer = 0;
    el.dataset.holding = 'false';
    if (say) hint(t('hold.short'));
  };
  el.style.setProperty('--hold', ms + 'ms');
  el.addEventListener('pointerdown', (e) => {
    if (e.button !== 0 || el.disabled) return;
    try {
      el.setPointerCapture(e.pointerId);
    } catch {
      // no capture: pointerup on the button still ends the hold
    }
    el.dataset.holding = 'true';
    hint(t('hold.keep'));
    timer = setTimeout(() => {
      timer = 0;
      el.dataset.holding = 'false';
      hint('');
      act();
    }, ms);
  });
  for (const ev of ['pointerup', 'pointercancel', 'lostpointercapture']) el.addEventListener(ev, () => cancel(true));
  el.addEventListener('contextmenu', (e) => e.preventDefault());
  el.addEventListener('click', (e) => {
    if (e.detail !== 0) return; // a pointer's click: the hold decides
    if (Date.now() < armed) {
      armed = 0;
      el.dataset.armed = 'false';
      hint('');
      act();
      return;
    }
    armed = Date.now() + 3000;
    el.dataset.armed = 'true';
    hint(t('hold.again'));
    setTimeout(() => {
      if (Date.now() >= armed) el.dataset.armed = 'false';
    }, 3100);
  });
}
