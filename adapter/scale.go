package adapter

import (
	"context"
	"fmt"

	autoscalingv1 "k8s.io/api/autoscaling/v1"
	apimeta "k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/scale"
)

// ScaleClient reads (and in direct mode writes) a target's replica count
// through the scale subresource, as the HPA controller does.
type ScaleClient interface {
	GetReplicas(ctx context.Context, namespace string, ref ScaleTargetRef) (int32, error)
	SetReplicas(ctx context.Context, namespace string, ref ScaleTargetRef, replicas int32) error
}

// NewScaleClient resolves scaleTargetRefs with mapper, so any resource with
// a scale subresource (Deployment, StatefulSet, a CRD) can be a target.
func NewScaleClient(scales scale.ScalesGetter, mapper apimeta.RESTMapper) ScaleClient {
	return &scaleClient{scales: scales, mapper: mapper}
}

type scaleClient struct {
	scales scale.ScalesGetter
	mapper apimeta.RESTMapper
}

func (c *scaleClient) resource(ref ScaleTargetRef) (schema.GroupResource, error) {
	gv, err := schema.ParseGroupVersion(ref.APIVersion)
	if err != nil {
		return schema.GroupResource{}, err
	}
	m, err := c.mapper.RESTMapping(schema.GroupKind{Group: gv.Group, Kind: ref.Kind}, gv.Version)
	if err != nil {
		return schema.GroupResource{}, fmt.Errorf("resolving %s %s: %w", ref.APIVersion, ref.Kind, err)
	}
	return m.Resource.GroupResource(), nil
}

func (c *scaleClient) get(ctx context.Context, namespace string, ref ScaleTargetRef) (schema.GroupResource, *autoscalingv1.Scale, error) {
	gr, err := c.resource(ref)
	if err != nil {
		return gr, nil, err
	}
	s, err := c.scales.Scales(namespace).Get(ctx, gr, ref.Name, metav1.GetOptions{})
	return gr, s, err
}

func (c *scaleClient) GetReplicas(ctx context.Context, namespace string, ref ScaleTargetRef) (int32, error) {
	_, s, err := c.get(ctx, namespace, ref)
	if err != nil {
		return 0, err
	}
	return s.Spec.Replicas, nil
}

func (c *scaleClient) SetReplicas(ctx context.Context, namespace string, ref ScaleTargetRef, replicas int32) error {
	gr, s, err := c.get(ctx, namespace, ref)
	if err != nil {
		return err
	}
	s.Spec.Replicas = replicas
	_, err = c.scales.Scales(namespace).Update(ctx, gr, s, metav1.UpdateOptions{})
	return err
}
