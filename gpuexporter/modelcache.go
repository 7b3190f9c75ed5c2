package gpuexporter

import (
	"os"
	"path/filepath"
	"strings"

	"github.com/prometheus/client_golang/prometheus"
)

// The Hugging Face hub cache (HF_HUB_CACHE; vLLM downloads into it) keeps
// each repository in <type>s--<org>--<name>; huggingface_hub's
// validate_repo_id refuses "--" in a repository id, so the name maps back
// to one id.
const (
	hubModelPrefix   = "models--"
	hubIDSeparator   = "--"
	hubIncomplete    = ".incomplete"
	hubSnapshotsDir  = "snapshots"
	hubBlobsDir      = "blobs"
	hubDatasetPrefix = "datasets--"
	hubSpacePrefix   = "spaces--"
)

// collectModels reports the models whose weights are in the cache
// directory, by the name a pod's gpu.kis.io/model annotation gives them:
//   - a hub cache repository, models--meta-llama--Llama-3.1-8B-Instruct, as
//     meta-llama/Llama-3.1-8B-Instruct, once it has a snapshot and no blob
//     is still downloading (the hub writes each to <blob>.incomplete first);
//   - any other directory by its name (a Triton model repository, or
//     weights copied in by hand).
//
// Hidden entries (downloads in progress, the hub's .locks) and the hub's
// datasets and spaces are skipped.
func (e *Exporter) collectModels(ch chan<- prometheus.Metric) {
	if e.cacheDir == "" {
		return
	}
	entries, err := os.ReadDir(e.cacheDir)
	if err != nil {
		e.errors["ReadModelCache"]++
		return
	}
	for _, en := range entries {
		name := en.Name()
		if !en.IsDir() || strings.HasPrefix(name, ".") || strings.HasPrefix(name, hubDatasetPrefix) || strings.HasPrefix(name, hubSpacePrefix) {
			continue
		}
		model := name
		if id, ok := strings.CutPrefix(name, hubModelPrefix); ok {
			complete, err := hubRepoComplete(filepath.Join(e.cacheDir, name))
			if err != nil {
				e.errors["ReadModelCache"]++
			}
			if !complete {
				continue
			}
			model = strings.ReplaceAll(id, hubIDSeparator, "/")
		}
		ch <- prometheus.MustNewConstMetric(descModel, prometheus.GaugeValue, 1, e.hostname, model)
	}
}

// hubRepoComplete reports whether a hub cache repository has a snapshot
// and no blob still downloading.
func hubRepoComplete(repo string) (bool, error) {
	snapshots, err := os.ReadDir(filepath.Join(repo, hubSnapshotsDir))
	switch {
	case os.IsNotExist(err):
		return false, nil
	case err != nil:
		return false, err
	case len(snapshots) == 0:
		return false, nil
	}
	blobs, err := os.ReadDir(filepath.Join(repo, hubBlobsDir))
	if err != nil && !os.IsNotExist(err) {
		return false, err
	}
	for _, b := range blobs {
		if strings.HasSuffix(b.Name(), hubIncomplete) {
			return false, nil
		}
	}
	return true, nil
}
