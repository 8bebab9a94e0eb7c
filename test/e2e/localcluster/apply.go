package localcluster

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// DecodeYAML splits a multi-document YAML stream into objects (empty documents skipped).
func DecodeYAML(data []byte) ([]*unstructured.Unstructured, error) {
	dec := utilyaml.NewYAMLOrJSONDecoder(bytes.NewReader(data), 4096)
	var out []*unstructured.Unstructured
	for {
		u := &unstructured.Unstructured{}
		if err := dec.Decode(&u.Object); err != nil {
			if errors.Is(err, io.EOF) {
				return out, nil
			}
			return nil, fmt.Errorf("decoding YAML: %w", err)
		}
		if len(u.Object) == 0 {
			continue
		}
		out = append(out, u)
	}
}

// Apply creates each object, or replaces it when it exists (kubectl apply without the merge),
// Namespaces and CRDs first. CRDs are waited for until they are served.
func Apply(ctx context.Context, c client.Client, objs []*unstructured.Unstructured) error {
	rank := func(u *unstructured.Unstructured) int {
		switch u.GetKind() {
		case "Namespace":
			return 0
		case "CustomResourceDefinition":
			return 1
		}
		return 2
	}
	for r := 0; r <= 2; r++ {
		for _, o := range objs {
			if rank(o) != r {
				continue
			}
			if err := applyOne(ctx, c, o.DeepCopy()); err != nil {
				return err
			}
		}
		if r == 1 {
			c.RESTMapper() // refreshed lazily by the dynamic mapper
		}
	}
	return nil
}

func applyOne(ctx context.Context, c client.Client, o *unstructured.Unstructured) error {
	err := poll(ctx, 30e9, func() error {
		err := c.Create(ctx, o)
		if apierrors.IsAlreadyExists(err) {
			cur := &unstructured.Unstructured{}
			cur.SetGroupVersionKind(o.GroupVersionKind())
			if err := c.Get(ctx, client.ObjectKeyFromObject(o), cur); err != nil {
				return err
			}
			o.SetResourceVersion(cur.GetResourceVersion())
			return c.Update(ctx, o)
		}
		if meta.IsNoMatchError(err) {
			return err // a CRD not served yet: retry
		}
		if err != nil {
			return &fatalError{err}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("applying %s %s/%s: %w", o.GetKind(), o.GetNamespace(), o.GetName(), err)
	}
	return nil
}
