package synth_test

import (
	"net/netip"
	"reflect"
	"testing"

	"github.com/svcnat/svcnat/synth"
)

// TestServicePortEqualCoversEveryField changes each field of a ServicePort
// in turn: Equal must notice every one, and Clone must share no slice. A
// field added to ServicePort without Equal knowing would make backends
// reuse stale rules.
func TestServicePortEqualCoversEveryField(t *testing.T) {
	base := synth.ServicePort{
		Name: synth.ServicePortName{Namespace: "ns", Name: "web", Port: "http", Protocol: synth.TCP},
		ID:   "ID", ClusterIP: netip.MustParseAddr("10.96.0.1"), Port: 80,
		ExternalIPs:      []netip.Addr{netip.MustParseAddr("192.168.1.200")},
		LoadBalancerIPs:  []netip.Addr{netip.MustParseAddr("192.168.1.201")},
		SourceRanges:     []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8")},
		ClusterEndpoints: []synth.Endpoint{{Addr: netip.MustParseAddr("10.244.1.2"), Port: 8080}},
		LocalEndpoints:   []synth.Endpoint{{Addr: netip.MustParseAddr("10.244.1.2"), Port: 8080, Local: true}},
	}
	typ := reflect.TypeOf(base)
	for i := range typ.NumField() {
		changed := base.Clone()
		if !base.Equal(&changed) {
			t.Fatal("a clone is not Equal to its original")
		}
		mutateField(t, reflect.ValueOf(&changed).Elem().Field(i))
		if base.Equal(&changed) {
			t.Errorf("Equal does not compare field %s", typ.Field(i).Name)
		}
	}
	c := base.Clone()
	c.ClusterEndpoints[0].Port = 1
	if base.ClusterEndpoints[0].Port != 8080 {
		t.Error("Clone shares ClusterEndpoints with the original")
	}
}

// mutateField changes v to a different value of its type.
func mutateField(t *testing.T, v reflect.Value) {
	t.Helper()
	switch v.Kind() {
	case reflect.String:
		v.SetString(v.String() + "x")
	case reflect.Bool:
		v.SetBool(!v.Bool())
	case reflect.Uint16, reflect.Uint8:
		v.SetUint(v.Uint() + 1)
	case reflect.Int32:
		v.SetInt(v.Int() + 1)
	case reflect.Slice:
		v.Set(reflect.Append(v, reflect.Zero(v.Type().Elem())))
	case reflect.Struct:
		switch x := v.Addr().Interface().(type) {
		case *netip.Addr:
			*x = x.Next()
		case *synth.ServicePortName:
			x.Port += "x"
		default:
			t.Fatalf("mutateField: no rule for %s", v.Type())
		}
	default:
		t.Fatalf("mutateField: no rule for kind %s", v.Kind())
	}
}
