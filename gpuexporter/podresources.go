package gpuexporter

import (
	"context"
	"fmt"
	"net"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	podresourcesv1 "k8s.io/kubelet/pkg/apis/podresources/v1"
)

// DefaultPodResourcesSocket is where the kubelet serves its pod-resources
// API.
const DefaultPodResourcesSocket = "/var/lib/kubelet/pod-resources/kubelet.sock"

// ownersTimeout bounds one List, well inside a scrape's timeout.
const ownersTimeout = 2 * time.Second

// resourceGPU is the extended resource NVIDIA's device plugin allocates;
// its device IDs are the GPUs' UUIDs.
const resourceGPU = "nvidia.com/gpu"

// Owner is the container a GPU is allocated to. Its series carry it as
// DCGM exporter's namespace, pod and container labels, which a workload's
// selector (namespace="ns",pod=~"name-.*") matches.
type Owner struct {
	Namespace, Pod, Container string
}

// OwnerSource tells which container holds each GPU, by UUID.
type OwnerSource interface {
	GPUOwners(ctx context.Context) (map[string]Owner, error)
}

// Kubelet is an OwnerSource over the kubelet's pod-resources API, which is
// what DCGM exporter reads for the same labels.
type Kubelet struct {
	conn   *grpc.ClientConn
	client podresourcesv1.PodResourcesListerClient
}

var _ OwnerSource = (*Kubelet)(nil)

// NewKubelet returns a client of the pod-resources socket. It connects on
// first use, so a kubelet that starts later is found.
func NewKubelet(socket string) (*Kubelet, error) {
	conn, err := grpc.NewClient("passthrough:///"+socket,
		grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithContextDialer(func(ctx context.Context, _ string) (net.Conn, error) {
			var d net.Dialer
			return d.DialContext(ctx, "unix", socket)
		}))
	if err != nil {
		return nil, fmt.Errorf("pod-resources client for %s: %w", socket, err)
	}
	return &Kubelet{conn: conn, client: podresourcesv1.NewPodResourcesListerClient(conn)}, nil
}

// GPUOwners lists the node's pods and maps each allocated GPU to its
// container.
func (k *Kubelet) GPUOwners(ctx context.Context) (map[string]Owner, error) {
	resp, err := k.client.List(ctx, &podresourcesv1.ListPodResourcesRequest{})
	if err != nil {
		return nil, fmt.Errorf("listing pod resources: %w", err)
	}
	return gpuOwners(resp), nil
}

// Close releases the connection.
func (k *Kubelet) Close() error { return k.conn.Close() }

// gpuOwners maps the UUID of every whole GPU in resp to its container.
// MIG slices (nvidia.com/mig-*) are not attributed: their IDs name a slice,
// and this exporter reports whole GPUs.
func gpuOwners(resp *podresourcesv1.ListPodResourcesResponse) map[string]Owner {
	owners := map[string]Owner{}
	for _, pod := range resp.GetPodResources() {
		for _, c := range pod.GetContainers() {
			for _, d := range c.GetDevices() {
				if d.GetResourceName() != resourceGPU {
					continue
				}
				for _, id := range d.GetDeviceIds() {
					owners[id] = Owner{Namespace: pod.GetNamespace(), Pod: pod.GetName(), Container: c.GetName()}
				}
			}
		}
	}
	return owners
}
