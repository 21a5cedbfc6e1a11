package kubeproxy

import (
	"encoding/json"
	"fmt"
	"reflect"
	"strings"
	"sync"

	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	logsapi "k8s.io/component-base/logs/api/v1"
	"k8s.io/kube-proxy/config/v1alpha1"
)

// atomicTypes are structs that are one value in the file (a duration, a
// quantity), not a section.
var atomicTypes = map[reflect.Type]bool{
	reflect.TypeFor[metav1.Duration]():            true,
	reflect.TypeFor[logsapi.TimeOrMetaDuration](): true,
	reflect.TypeFor[resource.QuantityValue]():     true,
}

// configFieldIndex maps the JSON path of every leaf field of
// v1alpha1.KubeProxyConfiguration ("conntrack.maxPerCore") to its
// reflect index path.
var configFieldIndex = sync.OnceValue(func() map[string][]int {
	m := map[string][]int{}
	walkFields(reflect.TypeFor[v1alpha1.KubeProxyConfiguration](), "", nil, m)
	return m
})

func walkFields(t reflect.Type, prefix string, index []int, out map[string][]int) {
	for i := range t.NumField() {
		f := t.Field(i)
		tag := f.Tag.Get("json")
		name, _, _ := strings.Cut(tag, ",")
		if name == "-" || (!f.IsExported() && !f.Anonymous) {
			continue
		}
		idx := append(append([]int(nil), index...), i)
		ft := f.Type
		if name == "" && f.Anonymous { // inline: TypeMeta, OutputRoutingOptions
			walkFields(ft, prefix, idx, out)
			continue
		}
		if name == "" {
			name = f.Name
		}
		path := prefix + name
		if ft.Kind() == reflect.Pointer {
			ft = ft.Elem()
		}
		if ft.Kind() == reflect.Struct && !atomicTypes[ft] {
			walkFields(ft, path+".", idx, out)
			continue
		}
		out[path] = idx
	}
}

// ConfigPaths returns the JSON path of every leaf field of
// v1alpha1.KubeProxyConfiguration.
func ConfigPaths() []string {
	var paths []string
	for p := range configFieldIndex() {
		paths = append(paths, p)
	}
	return paths
}

// configValue returns the value of the field at path in c; the zero Value
// when a pointer on the way is nil or the path is unknown.
func configValue(c *v1alpha1.KubeProxyConfiguration, path string) reflect.Value {
	idx, ok := configFieldIndex()[path]
	if !ok {
		return reflect.Value{}
	}
	v := reflect.ValueOf(c).Elem()
	for _, i := range idx {
		if v.Kind() == reflect.Pointer {
			if v.IsNil() {
				return reflect.Value{}
			}
			v = v.Elem()
		}
		v = v.Field(i)
	}
	return v
}

// sameValue compares two field values as they would appear in a file.
func sameValue(a, b reflect.Value) bool {
	return showValue(a) == showValue(b)
}

// showValue renders a field value as JSON ("null" for an absent one).
func showValue(v reflect.Value) string {
	if !v.IsValid() {
		return "null"
	}
	b, err := json.Marshal(v.Interface())
	if err != nil {
		return fmt.Sprint(v.Interface())
	}
	return string(b)
}
