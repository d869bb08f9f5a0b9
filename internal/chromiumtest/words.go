package chromiumtest

import (
	"context"

	"github.com/chromedp/chromedp"
)

// untranslatedJS lists the page's text that no translation reaches: each
// visible run of two or more words outside an element with data-i18n and
// outside code (commands and paths stay as they are typed).
const untranslatedJS = `(() => {
	const out = [];
	const walk = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
	for (let n; (n = walk.nextNode()); ) {
		const s = n.textContent.replace(/\s+/g, " ").trim();
		const el = n.parentElement;
		if (!/\p{L}{2,}\s+\p{L}{2,}/u.test(s) || el.closest("[data-i18n], code, pre, script, style, template")) continue;
		if (el.getClientRects().length === 0) continue; // not shown
		out.push(s);
	}
	return out;
})()`

// Untranslated returns the text shown on the page in ctx that is not in
// the page's words (data-i18n, see web/static/i18n.js): English left
// behind. Script-made text belongs to the caller's checks.
func Untranslated(ctx context.Context) ([]string, error) {
	return chromedp.Run(ctx, chromedp.Evaluate[[]string](untranslatedJS))
}
