package compat

// lowerKeywords and upperKeywords are merged by keeping the tighter bound.
var (
	lowerKeywords = []string{"minLength", "minItems", "minProperties", "minContains", "minimum", "exclusiveMinimum"}
	upperKeywords = []string{"maxLength", "maxItems", "maxProperties", "maxContains", "maximum", "exclusiveMaximum"}
)

// intersectValues adds an enum or const: the allowed values become the
// intersection.
func (n *node) intersectValues(v *valuesKw) {
	if n.values == nil {
		n.values = v
		return
	}
	var both []any
	for _, x := range n.values.vals {
		if containsValue(v.vals, x) {
			both = append(both, x)
		}
	}
	n.values = &valuesKw{vals: both, at: n.values.at, isConst: n.values.isConst || v.isConst}
}

// hasConditional reports whether the node has applicators whose evaluated
// properties and items depend on the record.
func (n *node) hasConditional() bool {
	if len(n.groups) > 0 || len(n.conds) > 0 || len(n.conj) > 0 || len(n.depSchemas) > 0 {
		return true
	}
	for _, u := range n.unknown {
		if u.name == "$dynamicRef" || u.name == "$recursiveRef" {
			return true
		}
	}
	return false
}

// evaluatesProps reports whether the node evaluates any property, which an
// unevaluatedProperties merged into it would then see.
func (n *node) evaluatesProps() bool {
	return len(n.props) > 0 || len(n.patternProps) > 0 || n.addl != nil || n.unevalProps != nil || n.hasConditional()
}

// evaluatesItems is evaluatesProps for items.
func (n *node) evaluatesItems() bool {
	return len(n.prefix) > 0 || n.items != nil || n.contains != nil || n.unevalItems != nil || n.hasConditional()
}

// canMerge reports whether x's keywords can join n's without changing what
// either means: keywords that depend on their siblings (additionalProperties
// on properties, items on prefixItems, unevaluated* on everything) must not
// gain siblings from the other schema.
func (n *node) canMerge(x *node) bool {
	switch {
	case x.unevalProps != nil && n.evaluatesProps(), n.unevalProps != nil && x.hasConditional(),
		x.unevalItems != nil && n.evaluatesItems(), n.unevalItems != nil && x.hasConditional():
		return false
	case x.addl != nil && (len(n.props) > 0 || len(n.patternProps) > 0),
		n.addl != nil && (len(x.props) > 0 || len(x.patternProps) > 0):
		return false
	case (x.items != nil || n.items != nil) && len(x.prefix) != len(n.prefix):
		return false
	case x.contains != nil && n.contains != nil:
		return false
	}
	return true
}

// conjChild joins two optional subschemas.
func conjChild(a, b *child) *child {
	if a == nil {
		return b
	}
	if b == nil {
		return a
	}
	return &child{parts: append(append([]loc{}, a.parts...), b.parts...)}
}

// mergeFrom adds x's keywords to n (n ∧ x); canMerge must hold. x is not
// changed.
func (n *node) mergeFrom(x *node) {
	n.falsy = n.falsy || x.falsy
	if x.types != nil {
		if n.types == nil || x.types.set&n.types.set == x.types.set {
			n.types = &typesKw{set: x.types.set & n.typeBits(), at: x.types.at}
		} else {
			n.types = &typesKw{set: n.types.set & x.types.set, at: n.types.at}
		}
	}
	if x.values != nil {
		n.intersectValues(x.values)
	}
	for _, kw := range lowerKeywords {
		if xv := *x.numField(kw); xv != nil {
			if nv := n.numField(kw); *nv == nil || xv.r.Cmp((*nv).r) > 0 {
				*nv = xv
			}
		}
	}
	for _, kw := range upperKeywords {
		if xv := *x.numField(kw); xv != nil {
			if nv := n.numField(kw); *nv == nil || xv.r.Cmp((*nv).r) < 0 {
				*nv = xv
			}
		}
	}
	n.multipleOf = append(n.multipleOf[:len(n.multipleOf):len(n.multipleOf)], x.multipleOf...)
	n.patterns = append(n.patterns[:len(n.patterns):len(n.patterns)], x.patterns...)
	n.formats = append(n.formats[:len(n.formats):len(n.formats)], x.formats...)
	if len(x.props) > 0 {
		props := make(map[string]*child, len(n.props)+len(x.props))
		for k, v := range n.props {
			props[k] = v
		}
		order := append([]string{}, n.propOrder...)
		for _, k := range x.propOrder {
			if _, ok := props[k]; !ok {
				order = append(order, k)
			}
			props[k] = conjChild(props[k], x.props[k])
		}
		n.props, n.propOrder = props, order
	}
	if len(x.patternProps) > 0 {
		pp := append([]patProp{}, n.patternProps...)
	next:
		for _, p := range x.patternProps {
			for i := range pp {
				if pp[i].re == p.re {
					pp[i].c = conjChild(pp[i].c, p.c)
					continue next
				}
			}
			pp = append(pp, p)
		}
		n.patternProps = pp
	}
	n.addl = conjChild(n.addl, x.addl)
	n.addlUneval = n.addlUneval || x.addlUneval
	n.unevalProps = conjChild(n.unevalProps, x.unevalProps)
	if len(x.required) > 0 {
		req := make(map[string]loc, len(n.required)+len(x.required))
		for k, v := range n.required {
			req[k] = v
		}
		order := append([]string{}, n.reqOrder...)
		for _, k := range x.reqOrder {
			if _, ok := req[k]; !ok {
				req[k] = x.required[k]
				order = append(order, k)
			}
		}
		n.required, n.reqOrder = req, order
	}
	n.propNames = conjChild(n.propNames, x.propNames)
	if len(x.depRequired) > 0 {
		dr := make(map[string]depReq, len(n.depRequired)+len(x.depRequired))
		for k, v := range n.depRequired {
			dr[k] = v
		}
		for k, v := range x.depRequired {
			if old, ok := dr[k]; ok {
				v = depReq{names: append(append([]string{}, old.names...), v.names...), at: old.at}
			}
			dr[k] = v
		}
		n.depRequired = dr
	}
	if len(x.depSchemas) > 0 {
		ds := make(map[string]*child, len(n.depSchemas)+len(x.depSchemas))
		for k, v := range n.depSchemas {
			ds[k] = v
		}
		for k, v := range x.depSchemas {
			ds[k] = conjChild(ds[k], v)
		}
		n.depSchemas = ds
	}
	if len(x.prefix) > 0 {
		pre := make([]*child, max(len(n.prefix), len(x.prefix)))
		for i := range pre {
			var a, b *child
			if i < len(n.prefix) {
				a = n.prefix[i]
			}
			if i < len(x.prefix) {
				b = x.prefix[i]
			}
			pre[i] = conjChild(a, b)
		}
		n.prefix = pre
	}
	n.items = conjChild(n.items, x.items)
	n.itemsUneval = n.itemsUneval || x.itemsUneval
	if x.contains != nil {
		n.contains, n.minContains, n.maxContains = x.contains, x.minContains, x.maxContains
	}
	if x.unique != nil {
		n.unique = x.unique
	}
	n.unevalItems = conjChild(n.unevalItems, x.unevalItems)
	n.groups = append(n.groups[:len(n.groups):len(n.groups)], x.groups...)
	n.nots = append(n.nots[:len(n.nots):len(n.nots)], x.nots...)
	n.conds = append(n.conds[:len(n.conds):len(n.conds)], x.conds...)
	n.conj = append(n.conj[:len(n.conj):len(n.conj)], x.conj...)
	n.unknown = append(n.unknown[:len(n.unknown):len(n.unknown)], x.unknown...)
	n.annotations = append(n.annotations[:len(n.annotations):len(n.annotations)], x.annotations...)
}

// typeBits returns the kinds n's type keyword allows (all when absent).
func (n *node) typeBits() typeSet {
	if n.types == nil {
		return tAll
	}
	return n.types.set
}

// finish settles keywords whose meaning depends on the others once all
// parts are merged: an unevaluatedProperties beside an additionalProperties
// is void; one with no conditional applicator beside it means what an
// additionalProperties would. The same for unevaluatedItems and items.
func (n *node) finish() {
	if n.addl != nil {
		n.unevalProps = nil
	} else if n.unevalProps != nil && !n.hasConditional() {
		n.addl, n.addlUneval, n.unevalProps = n.unevalProps, true, nil
	}
	if n.items != nil {
		n.unevalItems = nil
	} else if n.unevalItems != nil && n.contains == nil && !n.hasConditional() {
		n.items, n.itemsUneval, n.unevalItems = n.unevalItems, true, nil
	}
	if n.contains == nil {
		n.minContains, n.maxContains = nil, nil
	}
}

// hasConstraints reports whether the node constrains anything at all; a
// node without constraints accepts every value.
func (n *node) hasConstraints() bool {
	return n.falsy || n.types != nil || n.values != nil || n.minLength != nil || n.maxLength != nil ||
		len(n.patterns) > 0 || len(n.formats) > 0 || n.minimum != nil || n.maximum != nil ||
		n.exclMin != nil || n.exclMax != nil || len(n.multipleOf) > 0 || len(n.props) > 0 ||
		len(n.patternProps) > 0 || n.addl != nil || n.unevalProps != nil || len(n.required) > 0 ||
		n.minProps != nil || n.maxProps != nil || n.propNames != nil || len(n.depRequired) > 0 ||
		len(n.depSchemas) > 0 || len(n.prefix) > 0 || n.items != nil || n.contains != nil ||
		n.minItems != nil || n.maxItems != nil || n.unique != nil || n.unevalItems != nil ||
		len(n.groups) > 0 || len(n.nots) > 0 || len(n.conds) > 0 || len(n.conj) > 0 || len(n.unknown) > 0
}
