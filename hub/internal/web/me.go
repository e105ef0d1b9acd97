package web

import (
	"errors"
	"net/http"
	"strings"

	"github.com/jobtech-dev/datahub/hub/internal/accessreq"
	"github.com/jobtech-dev/datahub/hub/internal/jobstore"
	"github.com/jobtech-dev/datahub/hub/internal/policy"
	"github.com/jobtech-dev/datahub/hub/internal/registry"
)

// right is one dataset's rights of the signed-in actor.
type right struct {
	Dataset string
	Title   string
	Allowed map[string]bool // action → allowed now
}

// meView is an actor's own page: its rights, requests and services.
type meView struct {
	Actor    string
	Rights   []right
	Actions  []string
	Requests []accessreq.Request
	Services []jobstore.Service
	Datasets []*registry.Dataset
	Cats     []string
	Form     map[string]string // a refused form's values, shown again
}

// actorSession is the signed-in actor's session, or nil after sending the
// browser to sign in.
func (w *Web) actorSession(rw http.ResponseWriter, r *http.Request) *session {
	ss := w.sessions.get(r, kindActor)
	if ss == nil {
		http.Redirect(rw, r, "/login", http.StatusSeeOther)
	}
	return ss
}

func (w *Web) mePage(rw http.ResponseWriter, r *http.Request) {
	ss := w.actorSession(rw, r)
	if ss == nil {
		return
	}
	w.renderMe(rw, r, ss, http.StatusOK, "", nil)
}

func (w *Web) renderMe(rw http.ResponseWriter, r *http.Request, ss *session, status int, errText string, form map[string]string) {
	ctx, cancel := requestCtx(r)
	defer cancel()
	v := meView{Actor: ss.actor, Actions: []string{policy.ActionSubscribe, policy.ActionPublish, policy.ActionReadSchema},
		Datasets: w.Registry.List(), Cats: jobstore.Categories, Form: form}
	rights := w.Access.Rights(ss.actor, "") // from no known network: conditions on one show as not allowed
	for _, d := range v.Datasets {
		rt := right{Dataset: d.Name, Title: d.Title, Allowed: map[string]bool{}}
		for _, a := range v.Actions {
			rt.Allowed[a] = rights.Allowed(d.Name, a)
		}
		v.Rights = append(v.Rights, rt)
	}
	v.Requests, _ = w.Requests.List(ctx, ss.actor, "")
	v.Services, _ = w.Services.Search(ctx, "", "", "", ss.actor)
	w.render(rw, r, status, "me", page{Title: "Your access", Section: "me", Error: errText, CSRF: ss.csrf, Data: v})
}

// meRequest asks for access to a dataset.
func (w *Web) meRequest(rw http.ResponseWriter, r *http.Request) {
	ss := w.actorSession(rw, r)
	if ss == nil {
		return
	}
	r.Body = http.MaxBytesReader(rw, r.Body, 64<<10)
	if !checkCSRF(r, ss) {
		w.fail(rw, r, http.StatusForbidden, "The form is stale: reload the page and try again.")
		return
	}
	form := map[string]string{"dataset": r.PostFormValue("dataset"), "action": r.PostFormValue("action"), "purpose": r.PostFormValue("purpose"), "until": r.PostFormValue("until")}
	until, err := accessreq.ParseEndDate(form["until"])
	if err == nil {
		ctx, cancel := requestCtx(r)
		defer cancel()
		_, err = w.Requests.Create(ctx, ss.actor, form["dataset"], form["action"], form["purpose"], until)
	}
	if err != nil {
		status := http.StatusUnprocessableEntity
		if !errors.Is(err, accessreq.ErrInvalid) && !errors.Is(err, accessreq.ErrDuplicate) {
			status = http.StatusServiceUnavailable
		}
		w.renderMe(rw, r, ss, status, "Your request was not sent: "+err.Error(), form)
		return
	}
	http.Redirect(rw, r, "/me?done=requested", http.StatusSeeOther)
}

// meService publishes one of the actor's service descriptions.
func (w *Web) meService(rw http.ResponseWriter, r *http.Request) {
	ss := w.actorSession(rw, r)
	if ss == nil {
		return
	}
	r.Body = http.MaxBytesReader(rw, r.Body, 64<<10)
	if !checkCSRF(r, ss) {
		w.fail(rw, r, http.StatusForbidden, "The form is stale: reload the page and try again.")
		return
	}
	_ = r.ParseForm()
	s := jobstore.Service{Actor: ss.actor, Name: r.PostFormValue("name"), Title: r.PostFormValue("title"), Description: r.PostFormValue("description"),
		Category: r.PostFormValue("category"), URL: r.PostFormValue("url"), Datasets: r.PostForm["datasets"], Contact: r.PostFormValue("contact")}
	ctx, cancel := requestCtx(r)
	defer cancel()
	if _, err := w.Services.Publish(ctx, s, ss.actor); err != nil {
		form := map[string]string{"name": s.Name, "title": s.Title, "description": s.Description, "category": s.Category, "url": s.URL,
			"contact": s.Contact, "datasets": strings.Join(s.Datasets, ",")}
		w.renderMe(rw, r, ss, http.StatusUnprocessableEntity, "The service was not published: "+err.Error(), form)
		return
	}
	http.Redirect(rw, r, "/services/"+s.Actor+"/"+s.Name+"?done=published", http.StatusSeeOther)
}
