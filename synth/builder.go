package synth

import (
	"reflect"
	"slices"
	"strings"

	corev1 "k8s.io/api/core/v1"
)

// Builder is Build with a memory, for the node agent: it keeps the
// previous input's objects, their slices grouped by Service, each
// Service's parsed ports, the claims on entry points and the sorted
// output, and updates them from the objects that changed. Objects are
// told apart by pointer (informer caches and the manifest source keep
// unchanged objects, which must never be modified in place), so a
// one-endpoint change costs a pointer comparison per object plus work
// proportional to the change. Its Result is always exactly Build's; the
// Result's slices are shared with the Builder and must not be modified.
// Input its indexes cannot mirror (the same object twice, two Services
// of one name, two slices of one name for one Service) is built by Build
// from scratch. A Builder is not safe for concurrent use; the zero value
// is ready.
type Builder struct {
	cfg  Config
	node nodeFacts
	// valid: the state below mirrors services and slices.
	valid    bool
	services []*corev1.Service
	slices   []*EndpointSlice
	// memo is the compact form of the last input's API EndpointSlices.
	memo SliceMemo

	entries  map[*corev1.Service]*serviceEntry // programmed Services
	byKey    map[string]*serviceEntry          // the same, by "namespace/name"
	groups   map[string][]*EndpointSlice
	sliceKey map[*EndpointSlice]string    // usable slices: their group
	sliceBad map[*EndpointSlice][]Warning // ignored slices
	warned   map[*serviceEntry]bool       // entries with warnings
	fams     []*familyState
	// builds counts Builds; an entry made by this one has born == builds.
	builds int
}

// serviceEntry is everything derived from one Service and its slices alone,
// and, per family, what the claims left of its ports.
type serviceEntry struct {
	service  *corev1.Service
	key      string
	born     int
	slices   []*EndpointSlice
	info     *serviceInfo     // nil when the Service cannot be programmed
	ports    [2][]ServicePort // per Family.index
	warnings []Warning

	// Per Family.index: every entry point its ports want, what the claims
	// left of its ports (ports itself, shared, when they left everything)
	// and what they warned about.
	keys      [2][]claimKey
	claimed   [2][]ServicePort
	claimWarn [2][]Warning
}

// Build is like the package-level Build, reusing what it can.
func (b *Builder) Build(in Input, cfg Config) Result {
	w := &warnings{}
	node := resolveNode(in, cfg)
	checkLocalDetect(cfg, node, w)
	in = b.memo.Compact(in)
	var d inputChanges
	ok := b.valid && reflect.DeepEqual(b.cfg, cfg) && reflect.DeepEqual(b.node, node)
	if ok {
		d, ok = b.changesFrom(in)
	}
	b.builds++
	var changed *Changes // nil: every port is new
	if !ok {
		b.reset(cfg, node, b.builds)
		d = inputChanges{addedServices: in.Services, addedSlices: in.Slices}
	} else {
		changed = &Changes{Ports: map[Family][]ServicePortName{}}
	}
	b.valid = b.update(d, changed)
	if !b.valid {
		return buildFull(in, cfg)
	}
	b.services, b.slices = in.Services, in.Slices
	res := Result{IPv4: b.fams[0].ruleset(cfg, node), IPv6: b.fams[1].ruleset(cfg, node), Changed: changed}
	b.addWarnings(w)
	res.Warnings = w.sorted()
	return res
}

func (b *Builder) reset(cfg Config, node nodeFacts, builds int) {
	*b = Builder{
		cfg: cfg, node: node, builds: builds,
		entries:  map[*corev1.Service]*serviceEntry{},
		byKey:    map[string]*serviceEntry{},
		groups:   map[string][]*EndpointSlice{},
		sliceKey: map[*EndpointSlice]string{},
		sliceBad: map[*EndpointSlice][]Warning{},
		warned:   map[*serviceEntry]bool{},
		fams:     []*familyState{newFamilyState(IPv4), newFamilyState(IPv6)},
	}
}

// inputChanges are the objects that came and went since the last Build.
type inputChanges struct {
	addedServices, removedServices []*corev1.Service
	addedSlices, removedSlices     []*EndpointSlice
}

// changesFrom compares in (compacted) with the previous input by pointer;
// false when in holds an object twice.
func (b *Builder) changesFrom(in Input) (inputChanges, bool) {
	var d inputChanges
	var ok1, ok2 bool
	d.addedServices, d.removedServices, ok1 = ListChanges(b.services, in.Services)
	d.addedSlices, d.removedSlices, ok2 = ListChanges(b.slices, in.Slices)
	return d, ok1 && ok2
}

// update applies d to the indexes and the output, naming in changed
// (unless nil) the ports that may differ. False means the input is not
// one the indexes can mirror; the Builder's state is then unusable.
func (b *Builder) update(d inputChanges, changed *Changes) bool {
	dirty, ok := b.updateSlices(d.addedSlices, d.removedSlices)
	if !ok {
		return false
	}
	var gone, added []*serviceEntry
	for _, svc := range d.removedServices {
		if e := b.entries[svc]; e != nil {
			delete(b.entries, svc)
			delete(b.byKey, e.key)
			gone = append(gone, e)
		}
	}
	for _, svc := range d.addedServices {
		if svc == nil || !wantsRules(svc) {
			continue
		}
		key := svc.Namespace + "/" + svc.Name
		if b.entries[svc] != nil || b.byKey[key] != nil {
			return false // the same object twice, or two Services of one name
		}
		e := b.newEntry(svc, key)
		b.entries[svc], b.byKey[key] = e, e
		added = append(added, e)
	}
	if changed != nil {
		// Ruleset-wide fields come from the config and the node (a change
		// starts over) and from the Services' ClusterIPs, which change only
		// when a Service object comes or goes.
		changed.Fields = len(gone)+len(added) > 0
	}
	for key := range dirty {
		if e := b.byKey[key]; e != nil && e.born != b.builds {
			ne := b.newEntry(e.service, key)
			b.entries[e.service], b.byKey[key] = ne, ne
			gone, added = append(gone, e), append(added, ne)
		}
	}
	for _, e := range gone {
		delete(b.warned, e)
	}
	for _, fs := range b.fams {
		for _, e := range fs.update(gone, added, changed) {
			b.noteWarnings(e)
		}
	}
	for _, e := range added {
		b.noteWarnings(e)
	}
	return true
}

// updateSlices files added and removed slices under their Service and
// returns the Services whose slices changed; false when a slice is there
// twice or two slices of a Service share a name.
func (b *Builder) updateSlices(added, removed []*EndpointSlice) (map[string]bool, bool) {
	dirty := map[string]bool{}
	for _, s := range removed {
		delete(b.sliceBad, s)
		key, ok := b.sliceKey[s]
		if !ok {
			continue
		}
		delete(b.sliceKey, s)
		list := b.groups[key]
		i := slices.Index(list, s)
		// A new slice, not an edit in place: entries keep the old one.
		b.groups[key] = slices.Delete(slices.Clone(list), i, i+1)
		if len(b.groups[key]) == 0 {
			delete(b.groups, key)
		}
		dirty[key] = true
	}
	for _, s := range added {
		if s == nil {
			continue
		}
		if _, dup := b.sliceKey[s]; dup || b.sliceBad[s] != nil {
			return nil, false
		}
		w := &warnings{}
		idx := indexSlices([]*EndpointSlice{s}, w)
		if len(w.list) > 0 {
			b.sliceBad[s] = w.list
			continue
		}
		for key := range idx {
			list := b.groups[key]
			i, found := slices.BinarySearchFunc(list, s.Name, func(x *EndpointSlice, name string) int {
				return strings.Compare(x.Name, name)
			})
			if found {
				return nil, false
			}
			b.groups[key] = slices.Insert(slices.Clone(list), i, s)
			b.sliceKey[s] = key
			dirty[key] = true
		}
	}
	return dirty, true
}

func (b *Builder) newEntry(svc *corev1.Service, key string) *serviceEntry {
	e := newEntry(svc, b.groups[key], b.cfg, b.node)
	e.key, e.service, e.born = key, svc, b.builds
	return e
}

func (b *Builder) noteWarnings(e *serviceEntry) {
	n := len(e.warnings)
	for _, ws := range e.claimWarn {
		n += len(ws)
	}
	if n > 0 {
		b.warned[e] = true
	} else {
		delete(b.warned, e)
	}
}

// addWarnings adds every warning of the current input to w.
func (b *Builder) addWarnings(w *warnings) {
	add := func(ws []Warning) {
		for _, wn := range ws {
			w.add(wn.Object, wn.Reason, "%s", wn.Message)
		}
	}
	for _, ws := range b.sliceBad {
		add(ws)
	}
	for e := range b.warned {
		add(e.warnings)
		for _, ws := range e.claimWarn {
			add(ws)
		}
	}
}

// ListChanges compares two lists of objects by identity: added are the
// elements of new that old lacks, removed those of old that new lacks. It
// costs a pointer comparison per element plus work proportional to the
// difference when both lists keep their order (a lister's sorted list, a
// merged manifest folder). ok is false when new holds an element twice
// outside its common prefix and suffix with old. old must hold each
// element once.
func ListChanges[T comparable](old, new []T) (added, removed []T, ok bool) {
	n := min(len(old), len(new))
	p := 0
	for p < n && old[p] == new[p] {
		p++
	}
	s := 0
	for s < n-p && old[len(old)-1-s] == new[len(new)-1-s] {
		s++
	}
	om, nm := old[p:len(old)-s], new[p:len(new)-s]
	if len(om) == len(nm) { // replaced in place: only the differing positions
		var oc, nc []T
		for i := range om {
			if om[i] != nm[i] {
				oc, nc = append(oc, om[i]), append(nc, nm[i])
			}
		}
		om, nm = oc, nc
	}
	inOld := make(map[T]bool, len(om))
	for _, x := range om {
		inOld[x] = true
	}
	inNew := make(map[T]bool, len(nm))
	for _, x := range nm {
		if inNew[x] {
			return nil, nil, false
		}
		inNew[x] = true
		if !inOld[x] {
			added = append(added, x)
		}
	}
	for _, x := range om {
		if !inNew[x] {
			removed = append(removed, x)
		}
	}
	return added, removed, true
}
