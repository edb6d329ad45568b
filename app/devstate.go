package app

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/mutt-ops/mutt/internal/secrets"
)

// DevState is what the banner of `mutt dev` shows, written to
// Config.DevStateFile while it runs so `muttdev status` can show it again
// after the banner has scrolled away. It holds API keys: the file is 0600.
type DevState struct {
	PID         int          `json:"pid"`
	StartedAt   time.Time    `json:"started_at"`
	RedisPrefix string       `json:"redis_prefix"`
	Database    string       `json:"database"` // password redacted
	URLs        DevStateURLs `json:"urls"`
	Keys        DevStateKeys `json:"keys"`
	TaskQueue   string       `json:"task_queue"`
	Secrets     string       `json:"secrets"` // the secrets provider (and file)
	LogFile     string       `json:"log_file"`
}

// DevStateURLs are the addresses of a `mutt dev` instance. TemporalUI and
// Prometheus say why there is none when there is none.
type DevStateURLs struct {
	Ingest     string `json:"ingest"`
	Metrics    string `json:"metrics"`
	AdminAPI   string `json:"admin_api"`
	WebUI      string `json:"web_ui"`
	Alerter    string `json:"alerter"`
	Forwarder  string `json:"forwarder"`
	MoogSim    string `json:"moog_sim"`
	TemporalUI string `json:"temporal_ui"`
	Prometheus string `json:"prometheus"`
}

// DevStateKeys are the API keys of a `mutt dev` instance as it started
// (a rotation replaces them; the secrets provider has the current ones).
type DevStateKeys struct {
	Ingest   string `json:"ingest"`
	Admin    string `json:"admin"`
	ReadOnly string `json:"read_only,omitempty"` // only when one is configured
}

// DevStateFile is the state file of a `mutt dev` instance, in the
// directory of its log file: dev-state.json, or dev-state-<instance>.json
// for an instance with its own key prefix (DevInstance).
func DevStateFile(redisPrefix, logFile string) string {
	name := "dev-state"
	if inst := DevInstance(redisPrefix); inst != "" {
		name += "-" + inst
	}
	return filepath.Join(filepath.Dir(logFile), name+".json")
}

// NewDevState collects what Banner shows: keys are the secrets provider's
// current ones, else the environment's.
func NewDevState(cfg Config, keys *secrets.Cache, temporalUI, prometheus string) DevState {
	ingestURL := "http://" + Loopback(cfg.Ingest.Addr)
	api := "http://" + Loopback(cfg.APIAddr)
	store := cfg.Secrets.Provider
	if store == secrets.ProviderFile {
		store += " " + cfg.Secrets.File
	}
	taskQueue, _ := DevTemporal(cfg.RedisPrefix)
	s := DevState{
		PID: os.Getpid(), StartedAt: time.Now().UTC().Truncate(time.Second), RedisPrefix: cfg.RedisPrefix,
		Database: redactURL(cfg.DatabaseURL), TaskQueue: taskQueue, Secrets: store, LogFile: cfg.DevLogFile,
		URLs: DevStateURLs{
			Ingest: ingestURL + "/ingest", Metrics: ingestURL + "/metrics", AdminAPI: api + "/api/v2",
			WebUI: api + "/ui/", Alerter: "http://" + Loopback(cfg.AlerterAddr),
			Forwarder: "http://" + Loopback(cfg.ForwarderAddr), MoogSim: "http://" + Loopback(cfg.MoogSimAddr),
			TemporalUI: temporalUI, Prometheus: prometheus,
		},
		Keys: DevStateKeys{
			Ingest: bannerKey(keys, secrets.IngestAPIKey, cfg.Ingest.APIKeys),
			Admin:  bannerKey(keys, secrets.WebUIAPIKey, cfg.APIAdminKeys),
		},
	}
	if keys != nil {
		s.Keys.ReadOnly = firstKey(keys.Get(secrets.WebUIReadOnlyAPIKey))
	}
	if s.Keys.ReadOnly == "" && len(cfg.APIReadOnlyKeys) > 0 {
		s.Keys.ReadOnly = cfg.APIReadOnlyKeys[0]
	}
	return s
}

func firstKey(list string) string {
	for _, k := range strings.Split(list, ",") {
		if k = strings.TrimSpace(k); k != "" {
			return k
		}
	}
	return ""
}

// WriteDevState writes s to path (mode 0600: it holds API keys), replacing
// the file whole so a reader never sees half of it.
func WriteDevState(path string, s DevState) error {
	b, err := json.MarshalIndent(s, "", "  ")
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o750); err != nil {
		return fmt.Errorf("dev state file %s: %w", path, err)
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), ".dev-state-*")
	if err != nil {
		return fmt.Errorf("dev state file %s: %w", path, err)
	}
	defer func() { _ = os.Remove(tmp.Name()) }()
	if _, err := tmp.Write(append(b, '\n')); err != nil {
		_ = tmp.Close()
		return fmt.Errorf("dev state file %s: %w", path, err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("dev state file %s: %w", path, err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("dev state file %s: %w", path, err)
	}
	return nil
}

// ReadDevState reads the state file of a running `mutt dev`; an error
// satisfying errors.Is(err, os.ErrNotExist) means none runs here.
func ReadDevState(path string) (DevState, error) {
	var s DevState
	b, err := os.ReadFile(path) // #nosec G304 -- the dev instance's own state file, derived from its settings
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return s, err
		}
		return s, fmt.Errorf("dev state file %s: %w", path, err)
	}
	if err := json.Unmarshal(b, &s); err != nil {
		return s, fmt.Errorf("dev state file %s: %w", path, err)
	}
	return s, nil
}
