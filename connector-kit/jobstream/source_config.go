package jobstream

import (
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/jobtech-dev/datahub/connector-kit/plugin"
)

// Defaults of the source's config.
const (
	DefaultDataset        = "jobads"
	DefaultInterval       = 60 * time.Second // JobStream's rate limit: one request per minute
	DefaultTimeout        = 10 * time.Minute // a real /snapshot is ~300 MB
	DefaultBackoffInitial = time.Second
	DefaultBackoffMax     = 5 * time.Minute
)

// SourceConfig is the YAML config of the "jobstream" source:
//
//	url: https://jobstream.api.jobtechdev.se   # base URL (required)
//	api_key: ...                               # sent as the api-key header (optional)
//	dataset: jobads                            # hub dataset of the records
//	interval: 60s                              # poll period
//	since: 2024-05-01T00:00:00                 # first window start; default: /snapshot first
//	timeout: 10m                               # per request
//	overlap: 0s                                # re-read this much before the cursor (clock skew)
//	occupation_concept_ids: [apaJ_2ja_LuF]     # JobStream filters (optional)
//	location_concept_ids: [CifL_Rzy_Mku]
//	backoff_initial: 1s                        # first wait after a 5xx/timeout, doubled each time
//	backoff_max: 5m
type SourceConfig struct {
	URL                  string   `yaml:"url"`
	APIKey               string   `yaml:"api_key"`
	Dataset              string   `yaml:"dataset"`
	Interval             string   `yaml:"interval"`
	Since                string   `yaml:"since"`
	Timeout              string   `yaml:"timeout"`
	Overlap              string   `yaml:"overlap"`
	OccupationConceptIDs []string `yaml:"occupation_concept_ids"`
	LocationConceptIDs   []string `yaml:"location_concept_ids"`
	BackoffInitial       string   `yaml:"backoff_initial"`
	BackoffMax           string   `yaml:"backoff_max"`
}

// sourceSettings is a validated SourceConfig.
type sourceSettings struct {
	base           *url.URL
	apiKey         string
	dataset        string
	interval       time.Duration
	since          time.Time // zero: snapshot first
	timeout        time.Duration
	overlap        time.Duration
	occupationIDs  []string
	locationIDs    []string
	backoffInitial time.Duration
	backoffMax     time.Duration
}

// parseSourceConfig decodes and checks the YAML config; every error wraps
// plugin.ErrInvalidConfig and names the field.
func parseSourceConfig(conf []byte) (sourceSettings, error) {
	var c SourceConfig
	if err := plugin.DecodeConfig(conf, &c); err != nil {
		return sourceSettings{}, fmt.Errorf("jobstream source: %w", err)
	}
	bad := func(field, format string, args ...any) error {
		return fmt.Errorf("%w: jobstream source: %s: %s", plugin.ErrInvalidConfig, field, fmt.Sprintf(format, args...))
	}
	s := sourceSettings{
		apiKey:        strings.TrimSpace(c.APIKey),
		dataset:       c.Dataset,
		occupationIDs: nonEmpty(c.OccupationConceptIDs),
		locationIDs:   nonEmpty(c.LocationConceptIDs),
	}
	if c.URL == "" {
		return s, bad("url", "required: the JobStream base URL, e.g. https://jobstream.api.jobtechdev.se")
	}
	u, err := url.Parse(c.URL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return s, bad("url", "%q is not an http(s) URL", c.URL)
	}
	u.RawQuery, u.Fragment = "", ""
	u.Path = strings.TrimRight(u.Path, "/")
	s.base = u
	if s.dataset == "" {
		s.dataset = DefaultDataset
	}
	durations := []struct {
		field string
		value string
		dst   *time.Duration
		def   time.Duration
		min   time.Duration
	}{
		{"interval", c.Interval, &s.interval, DefaultInterval, time.Millisecond},
		{"timeout", c.Timeout, &s.timeout, DefaultTimeout, time.Millisecond},
		{"overlap", c.Overlap, &s.overlap, 0, 0},
		{"backoff_initial", c.BackoffInitial, &s.backoffInitial, DefaultBackoffInitial, time.Millisecond},
		{"backoff_max", c.BackoffMax, &s.backoffMax, DefaultBackoffMax, time.Millisecond},
	}
	for _, d := range durations {
		if d.value == "" {
			*d.dst = d.def
			continue
		}
		v, err := time.ParseDuration(d.value)
		if err != nil {
			return s, bad(d.field, "%q is not a duration like 60s or 5m", d.value)
		}
		if v < d.min {
			return s, bad(d.field, "%s is too small (at least %s)", d.value, d.min)
		}
		*d.dst = v
	}
	if s.backoffMax < s.backoffInitial {
		s.backoffMax = s.backoffInitial
	}
	if c.Since != "" {
		t, err := ParseDate("since", c.Since)
		if err != nil {
			return s, fmt.Errorf("%w: jobstream source: %w", plugin.ErrInvalidConfig, err)
		}
		s.since = t
	}
	return s, nil
}
