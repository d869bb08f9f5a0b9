package chromiumtest

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"

	"github.com/chromedp/chromedp"
)

// AxeSource is axe-core's script from build/jstest (build/jstest/install.sh
// installs it; CI runs that before the tests).
func AxeSource() (string, error) {
	_, here, _, _ := runtime.Caller(0)
	p := filepath.Join(filepath.Dir(here), "..", "..", "build", "jstest", "node_modules", "axe-core", "axe.min.js")
	b, err := os.ReadFile(p)
	if err != nil {
		return "", fmt.Errorf("axe-core missing: run build/jstest/install.sh (%w)", err)
	}
	return string(b), nil
}

// Axe checks the page in ctx as it is now with axe-core (src, from
// AxeSource) and returns every serious or critical violation, each with
// up to three of the elements at fault.
func Axe(ctx context.Context, src string) ([]string, error) {
	run := `(async () => {
		if (!window.axe) (0, eval)(` + jsString(src) + `);
		const r = await axe.run(document, { resultTypes: ["violations"] });
		if (r.passes.length === 0) return ["axe ran no check"];
		return r.violations.filter((v) => v.impact === "serious" || v.impact === "critical")
			.map((v) => v.impact + " " + v.id + ": " + v.help + " at " + v.nodes.slice(0, 3).map((n) => n.target.join(" ")).join(", "));
	})()`
	return chromedp.Run(ctx, chromedp.Evaluate[[]string](run, chromedp.EvalAwaitPromise))
}

func jsString(s string) string {
	r := strings.NewReplacer(`\`, `\\`, "`", "\\`", "${", "\\${")
	return "`" + r.Replace(s) + "`"
}
