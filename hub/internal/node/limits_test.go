package node

import (
	"testing"

	"github.com/jobtech-dev/datahub/hub/internal/config"
)

func TestConnectionCapsComeFromTheDescriptorLimit(t *testing.T) {
	t.Parallel()
	def := config.Default()
	cases := []struct {
		name                 string
		cfg                  func(*config.Config)
		fdLimit              int
		nats, perActor, http int
	}{
		{"unknown limit", nil, 0, 64 << 10, 100, 4096},
		{"systemd's 1024", nil, 1024, 528, 100, 176},
		{"a low 512", nil, 512, 144, 100, 48},
		{"a high limit", nil, 1 << 20, 64 << 10, 100, 4096},
		{"set", func(c *config.Config) { c.NATSMaxConns, c.HTTPMaxConns, c.MaxConnsPerActor = 10, 20, 5 }, 1024, 10, 5, 20},
		{"no caps", func(c *config.Config) { c.NATSMaxConns, c.HTTPMaxConns, c.MaxConnsPerActor = -1, -1, -1 }, 1024, 1 << 30, 0, -1},
	}
	for _, tc := range cases {
		cfg := def
		if tc.cfg != nil {
			tc.cfg(&cfg)
		}
		l := limitsFor(cfg, tc.fdLimit)
		if l.natsMax != tc.nats || l.natsPerActor != tc.perActor || l.http.MaxConns != tc.http {
			t.Errorf("%s: nats %d, per actor %d, http %d; want %d, %d, %d", tc.name, l.natsMax, l.natsPerActor, l.http.MaxConns, tc.nats, tc.perActor, tc.http)
		}
		if l.http.MaxConnsPerIP != 64 || l.http.WriteTimeout != def.HTTPWriteTimeout {
			t.Errorf("%s: http config %+v", tc.name, l.http)
		}
	}
}
