package jobstore

import (
	"bytes"
	"errors"
	"fmt"
	"net/mail"
	"net/url"
	"slices"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/goccy/go-yaml"

	"github.com/jobtech-dev/datahub/internal/strictyaml"

	"github.com/jobtech-dev/datahub/connector-kit/wire"
)

// Categories of services.
var Categories = []string{"matching", "recruitment", "education", "gig"}

// Limits of a description's fields.
const (
	MaxTitle       = 120
	MaxDescription = 4000
	MaxContact     = 200
	MaxURL         = 2000
	MaxDatasets    = 32
)

// Service is one description.
type Service struct {
	// Actor is the actor whose service it is.
	Actor string `json:"actor" yaml:"actor"`
	// Name identifies the service among its actor's: [a-z][a-z0-9-]{0,62}.
	Name        string   `json:"name" yaml:"name"`
	Title       string   `json:"title" yaml:"title"`
	Description string   `json:"description" yaml:"description"`
	Category    string   `json:"category" yaml:"category"`
	URL         string   `json:"url" yaml:"url"`
	Datasets    []string `json:"datasets" yaml:"datasets"`
	// Contact is an e-mail address or an http(s) URL.
	Contact   string    `json:"contact" yaml:"contact"`
	UpdatedAt time.Time `json:"updated_at" yaml:"-"`
	UpdatedBy string    `json:"updated_by,omitempty" yaml:"-"`
}

// Key is the service's key in the bucket: actor.name.
func (s Service) Key() string { return s.Actor + "." + s.Name }

// ParseYAML reads a description file strictly: an unknown field, a
// duplicate key or a wrong type is an error naming the file, line and
// column. The description is then checked whole (see Check).
func ParseYAML(file string, data []byte, known func(dataset string) bool) (Service, error) {
	var s Service
	if err := strictyaml.Unmarshal(data, &s, yaml.DisallowUnknownField(), yaml.Strict()); err != nil {
		return Service{}, fmt.Errorf("%s: %w: %s", file, ErrInvalid, yaml.FormatError(err, false, false))
	}
	if err := s.Check(known); err != nil {
		return Service{}, fmt.Errorf("%s: %w", file, err)
	}
	return s, nil
}

// Check reports every mistake in the description, each naming its field;
// known says whether a dataset is declared on the hub. It trims the text
// fields' surrounding space.
func (s *Service) Check(known func(dataset string) bool) error {
	var errs []error
	bad := func(field, format string, a ...any) {
		errs = append(errs, fmt.Errorf("%s: %s", field, fmt.Sprintf(format, a...)))
	}
	s.Title, s.Description, s.URL, s.Contact = strings.TrimSpace(s.Title), strings.TrimSpace(s.Description), strings.TrimSpace(s.URL), strings.TrimSpace(s.Contact)
	if !wire.ValidName(s.Actor) {
		bad("actor", "%q must be an actor name ([a-z][a-z0-9-]{0,62})", short(s.Actor))
	}
	if !wire.ValidName(s.Name) {
		bad("name", "%q must match [a-z][a-z0-9-]{0,62}", short(s.Name))
	}
	text := func(field, v string, max int, required, multiline bool) {
		switch {
		case v == "" && required:
			bad(field, "is required")
		case !utf8.ValidString(v):
			bad(field, "is not UTF-8 text")
		case utf8.RuneCountInString(v) > max:
			bad(field, "has %d characters, at most %d", utf8.RuneCountInString(v), max)
		case strings.ContainsFunc(v, func(r rune) bool {
			return unicode.IsControl(r) && !(multiline && (r == '\n' || r == '\t' || r == '\r'))
		}):
			bad(field, "holds control characters")
		}
	}
	text("title", s.Title, MaxTitle, true, false)
	text("description", s.Description, MaxDescription, true, true)
	if !slices.Contains(Categories, s.Category) {
		bad("category", "%q: want one of %s", short(s.Category), strings.Join(Categories, ", "))
	}
	if err := checkWebURL(s.URL); err != nil {
		bad("url", "%v", err)
	}
	if len(s.Datasets) == 0 {
		bad("datasets", "name at least one dataset the service uses")
	}
	if len(s.Datasets) > MaxDatasets {
		bad("datasets", "at most %d", MaxDatasets)
	}
	seen := map[string]bool{}
	for i, d := range s.Datasets {
		switch {
		case !wire.ValidName(d) || (known != nil && !known(d)):
			bad(fmt.Sprintf("datasets[%d]", i), "%q is not a dataset of this hub", short(d))
		case seen[d]:
			bad(fmt.Sprintf("datasets[%d]", i), "%q named twice", d)
		}
		seen[d] = true
	}
	text("contact", s.Contact, MaxContact, true, false)
	if s.Contact != "" {
		if _, err := mail.ParseAddress(s.Contact); err != nil && checkWebURL(s.Contact) != nil {
			bad("contact", "%q: want an e-mail address or an http(s) URL", short(s.Contact))
		}
	}
	if len(errs) > 0 {
		return fmt.Errorf("%w: %w", ErrInvalid, errors.Join(errs...))
	}
	return nil
}

// checkWebURL accepts only absolute http and https URLs with a host.
func checkWebURL(s string) error {
	if s == "" {
		return errors.New("is required: the service's address, https://…")
	}
	if len(s) > MaxURL {
		return fmt.Errorf("longer than %d characters", MaxURL)
	}
	u, err := url.Parse(s)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || u.User != nil {
		return fmt.Errorf("%q: want an absolute http(s) URL such as https://service.example/", short(s))
	}
	return nil
}

func short(s string) string {
	if len(s) > 64 {
		return s[:64] + "…"
	}
	return s
}

// Matches reports whether the service matches a search: every word of text
// (case-insensitive) in its title, description, name or actor; its
// category; a dataset it uses. Empty criteria match everything.
func (s Service) Matches(text, category, dataset string) bool {
	if category != "" && s.Category != category {
		return false
	}
	if dataset != "" && !slices.Contains(s.Datasets, dataset) {
		return false
	}
	hay := strings.ToLower(strings.Join([]string{s.Title, s.Description, s.Name, s.Actor}, "\n"))
	for _, w := range strings.Fields(strings.ToLower(text)) {
		if !strings.Contains(hay, w) {
			return false
		}
	}
	return true
}

// YAML renders the description as a service.yaml file.
func (s Service) YAML() []byte {
	var b bytes.Buffer
	_ = yaml.NewEncoder(&b).Encode(s)
	return b.Bytes()
}
