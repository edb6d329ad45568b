package workers

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"time"

	"go.yaml.in/yaml/v3"
)

// ErrPrometheusNotInstalled is StartDevPrometheus's error when the
// prometheus binary is not found: `mutt dev` then runs without it.
var ErrPrometheusNotInstalled = errors.New("prometheus is not installed: run `make run` (it installs Debian's " +
	"prometheus package) or `apt-get install --no-install-recommends prometheus`")

// ScrapeTarget is one /metrics endpoint the dev Prometheus scrapes.
type ScrapeTarget struct {
	Job   string // e.g. mutt-ingestor, as in deploy/prometheus/prometheus.yml
	Addr  string // host:port
	HTTPS bool   // the listener serves TLS (its certificate is not verified: loopback, dev only)
	// Samples keeps the endpoint's samples. The roles of one `mutt dev`
	// share a registry, so every role's /metrics shows the same series:
	// one target keeps them and the others only give their `up`, or every
	// sum() in the rules would count each series once per role.
	Samples bool
}

// DevPrometheusOptions is what `mutt dev` runs its Prometheus with.
type DevPrometheusOptions struct {
	Binary string // the prometheus binary: a path, or a name looked up on PATH
	// Addr is the listen address; with ScanPorts the first free port from
	// Addr's upwards is taken instead when Addr is busy.
	Addr      string
	ScanPorts bool
	// Dir holds prometheus.yml, rules/ (a copy of Rules), data/ (the TSDB)
	// and prometheus.log.
	Dir            string
	ScrapeInterval time.Duration
	Retention      time.Duration // of the TSDB
	Targets        []ScrapeTarget
	Rules          fs.FS // the rule files (*.yml at its root): deploy/prometheus/rules
}

// DevPrometheus is a Prometheus this process started; Stop ends it.
type DevPrometheus struct {
	URL string // http://host:port
	Dir string
	devChild
}

// StartDevPrometheus writes the configuration and rules into o.Dir, starts
// Prometheus on them and waits until it is ready. Stop ends it.
func StartDevPrometheus(ctx context.Context, o DevPrometheusOptions, log *slog.Logger) (*DevPrometheus, error) {
	bin, err := exec.LookPath(o.Binary)
	if err != nil {
		return nil, fmt.Errorf("%w (MUTT_DEV_PROMETHEUS_BIN %q: %v)", ErrPrometheusNotInstalled, o.Binary, err)
	}
	host, portStr, err := net.SplitHostPort(o.Addr)
	if err != nil {
		return nil, fmt.Errorf("MUTT_DEV_PROMETHEUS_ADDR %q: %w", o.Addr, err)
	}
	if host == "" {
		host = "127.0.0.1"
	}
	if o.ScanPorts {
		from, err := strconv.Atoi(portStr)
		if err != nil {
			return nil, fmt.Errorf("MUTT_DEV_PROMETHEUS_ADDR %q: %w", o.Addr, err)
		}
		p, err := firstFreePort(host, from)
		if err != nil {
			return nil, fmt.Errorf("prometheus: %w", err)
		}
		portStr = strconv.Itoa(p)
	}
	addr := net.JoinHostPort(host, portStr)
	configFile, err := writePrometheusFiles(o)
	if err != nil {
		return nil, err
	}
	logPath := filepath.Join(o.Dir, "prometheus.log")
	logFile, err := os.OpenFile(logPath, os.O_CREATE|os.O_TRUNC|os.O_WRONLY, 0o600) // #nosec G304 -- under the dev state directory (MUTT_DEV_PROMETHEUS_DIR)
	if err != nil {
		return nil, fmt.Errorf("MUTT_DEV_PROMETHEUS_DIR: %w", err)
	}
	args := []string{
		"--config.file=" + configFile,
		"--storage.tsdb.path=" + filepath.Join(o.Dir, "data"),
		"--storage.tsdb.retention.time=" + promDuration(o.Retention),
		"--web.listen-address=" + addr,
		"--log.level=warn",
	}
	child, err := startDevChild(exec.Command(bin, args...), logFile, "prometheus") // #nosec G204 -- the prometheus binary mutt dev starts, with arguments it builds
	if err != nil {
		return nil, err
	}
	p := &DevPrometheus{URL: "http://" + addr, Dir: o.Dir, devChild: child}
	log.Info("started prometheus", "url", p.URL, "dir", o.Dir, "log", logPath)
	if err := child.waitReady(ctx, p.ready, "prometheus", "was not ready", logPath); err != nil {
		return nil, err
	}
	return p, nil
}

// ready reports whether Prometheus answers /-/ready with 200.
func (p *DevPrometheus) ready(ctx context.Context) bool {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, p.URL+"/-/ready", nil)
	if err != nil {
		return false
	}
	resp, err := http.DefaultClient.Do(req) // #nosec G704 -- the loopback Prometheus this process started
	if err != nil {
		return false
	}
	_ = resp.Body.Close()
	return resp.StatusCode == http.StatusOK
}

// promConfig is the part of prometheus.yml the dev Prometheus uses.
type promConfig struct {
	Global struct {
		ScrapeInterval     string `yaml:"scrape_interval"`
		ScrapeTimeout      string `yaml:"scrape_timeout"`
		EvaluationInterval string `yaml:"evaluation_interval"`
	} `yaml:"global"`
	RuleFiles     []string       `yaml:"rule_files"`
	ScrapeConfigs []scrapeConfig `yaml:"scrape_configs"`
}

type scrapeConfig struct {
	JobName   string `yaml:"job_name"`
	Scheme    string `yaml:"scheme,omitempty"`
	TLSConfig *struct {
		InsecureSkipVerify bool `yaml:"insecure_skip_verify"`
	} `yaml:"tls_config,omitempty"`
	StaticConfigs []struct {
		Targets []string `yaml:"targets"`
	} `yaml:"static_configs"`
	MetricRelabelConfigs []relabelConfig `yaml:"metric_relabel_configs,omitempty"`
}

type relabelConfig struct {
	SourceLabels []string `yaml:"source_labels"`
	Regex        string   `yaml:"regex"`
	Action       string   `yaml:"action"`
}

// writePrometheusFiles writes o.Dir/prometheus.yml and copies the rule files
// into o.Dir/rules (replacing earlier copies, so a newer mutt brings its
// rules), and returns the configuration's path.
func writePrometheusFiles(o DevPrometheusOptions) (string, error) {
	rulesDir := filepath.Join(o.Dir, "rules")
	if err := os.RemoveAll(rulesDir); err != nil {
		return "", fmt.Errorf("MUTT_DEV_PROMETHEUS_DIR: %w", err)
	}
	if err := os.MkdirAll(rulesDir, 0o750); err != nil {
		return "", fmt.Errorf("MUTT_DEV_PROMETHEUS_DIR: %w", err)
	}
	ruleFiles, err := fs.Glob(o.Rules, "*.yml")
	if err != nil {
		return "", fmt.Errorf("prometheus rules: %w", err)
	}
	var c promConfig
	for _, name := range ruleFiles {
		b, err := fs.ReadFile(o.Rules, name)
		if err != nil {
			return "", fmt.Errorf("prometheus rules: %w", err)
		}
		if err := os.WriteFile(filepath.Join(rulesDir, name), b, 0o600); err != nil {
			return "", fmt.Errorf("MUTT_DEV_PROMETHEUS_DIR: %w", err)
		}
		c.RuleFiles = append(c.RuleFiles, filepath.Join("rules", name))
	}
	interval := promDuration(o.ScrapeInterval)
	c.Global.ScrapeInterval, c.Global.ScrapeTimeout, c.Global.EvaluationInterval = interval, interval, interval
	for _, t := range o.Targets {
		sc := scrapeConfig{JobName: t.Job}
		sc.StaticConfigs = append(sc.StaticConfigs, struct {
			Targets []string `yaml:"targets"`
		}{Targets: []string{t.Addr}})
		if t.HTTPS {
			sc.Scheme = "https"
			sc.TLSConfig = &struct {
				InsecureSkipVerify bool `yaml:"insecure_skip_verify"`
			}{InsecureSkipVerify: true}
		}
		if !t.Samples {
			sc.MetricRelabelConfigs = []relabelConfig{{SourceLabels: []string{"__name__"}, Regex: ".+", Action: "drop"}}
		}
		c.ScrapeConfigs = append(c.ScrapeConfigs, sc)
	}
	b, err := yaml.Marshal(c)
	if err != nil {
		return "", fmt.Errorf("prometheus config: %w", err)
	}
	path := filepath.Join(o.Dir, "prometheus.yml")
	header := []byte("# Written by `mutt dev` at every start (workers/devprometheus.go); edits are lost.\n")
	if err := os.WriteFile(path, append(header, b...), 0o600); err != nil {
		return "", fmt.Errorf("MUTT_DEV_PROMETHEUS_DIR: %w", err)
	}
	return path, nil
}

// promDuration formats d as a Prometheus duration (whole seconds, at least 1s).
func promDuration(d time.Duration) string {
	s := int64(d / time.Second)
	if s < 1 {
		s = 1
	}
	return strconv.FormatInt(s, 10) + "s"
}
