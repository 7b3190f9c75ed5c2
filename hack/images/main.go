// Command images builds the container image of each binary given, writes
// it to OUT/<name>.tar (`docker load`, `podman load`, `kind load
// image-archive` and `crane push` read it) and, with --push, pushes it as
// REPOSITORY/<name>:TAG with the credentials of ~/.docker/config.json.
// Binaries of one name built for several architectures make one
// multi-platform image, pushed as an index, with a tarball per
// architecture (OUT/<name>-<arch>.tar). `make images` runs it;
// internal/ociimage says what an image holds.
//
//	go run ./hack/images --repository R --tag T [--push] [--out DIR] BINARY...
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/tarball"

	"github.com/kisproject/kis/internal/ociimage"
)

// defaultRepository is where the manifests' images are (a test keeps
// them in step).
const defaultRepository = "ghcr.io/kisproject"

func main() {
	out := flag.String("out", "bin/images", "directory for the image tarballs")
	repository := flag.String("repository", defaultRepository, "where the images are named (and pushed): REPOSITORY/<binary name>:TAG")
	tag := flag.String("tag", "", "the images' tag (required)")
	push := flag.Bool("push", false, "push each image to its repository")
	version := flag.String("version", "", "the org.opencontainers.image.version label")
	revision := flag.String("revision", "", "the org.opencontainers.image.revision label (a commit)")
	flag.Usage = func() {
		fmt.Fprintf(flag.CommandLine.Output(), "usage: images --tag T [flags] BINARY...\n")
		flag.PrintDefaults()
	}
	flag.Parse()
	if *tag == "" || flag.NArg() == 0 {
		flag.Usage()
		os.Exit(2)
	}
	created, err := sourceDate()
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	o := ociimage.Options{HostRoot: "/", Created: created, Version: *version, Revision: *revision}
	if err := os.MkdirAll(*out, 0o755); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	for _, bins := range byName(flag.Args()) {
		if err := build(ctx, bins, *repository, *tag, *out, *push, o); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
	}
}

// byName groups the binaries by file name, in order of first appearance:
// one program built for several architectures is one image.
func byName(bins []string) [][]string {
	var groups [][]string
	at := map[string]int{}
	for _, b := range bins {
		n := filepath.Base(b)
		if i, ok := at[n]; ok {
			groups[i] = append(groups[i], b)
			continue
		}
		at[n] = len(groups)
		groups = append(groups, []string{b})
	}
	return groups
}

// sourceDate is SOURCE_DATE_EPOCH (reproducible-builds.org), or the Unix
// epoch: never the wall clock, which would change every digest.
func sourceDate() (time.Time, error) {
	v, ok := os.LookupEnv("SOURCE_DATE_EPOCH")
	if !ok {
		return time.Unix(0, 0).UTC(), nil
	}
	secs, err := strconv.ParseInt(v, 10, 64)
	if err != nil || secs < 0 {
		return time.Time{}, fmt.Errorf("SOURCE_DATE_EPOCH %q: want a non-negative number of seconds", v)
	}
	return time.Unix(secs, 0).UTC(), nil
}

// build makes the image of bins, one program for one or more
// architectures, writes each architecture's image to a tarball and, with
// push, pushes the image, a multi-platform index for several.
func build(ctx context.Context, bins []string, repository, tag, out string, push bool, o ociimage.Options) error {
	program := filepath.Base(bins[0])
	ref, err := name.NewTag(repository + "/" + program + ":" + tag)
	if err != nil {
		return fmt.Errorf("image name for %s: %w", program, err)
	}
	var images []v1.Image
	for _, bin := range bins {
		img, err := ociimage.Build(bin, o)
		if err != nil {
			return err
		}
		file := filepath.Join(out, program+".tar")
		if len(bins) > 1 {
			cfg, err := img.ConfigFile()
			if err != nil {
				return err
			}
			file = filepath.Join(out, program+"-"+cfg.Architecture+".tar")
		}
		if err := writeTarball(file, ref, img); err != nil {
			return err
		}
		digest, err := img.Digest()
		if err != nil {
			return err
		}
		fmt.Printf("%s@%s  %s\n", ref, digest, file)
		images = append(images, img)
	}
	opts := []remote.Option{remote.WithContext(ctx), remote.WithAuthFromKeychain(authn.DefaultKeychain)}
	if len(images) == 1 {
		if push {
			if err := remote.Write(ref, images[0], opts...); err != nil {
				return fmt.Errorf("pushing %s: %w", ref, err)
			}
			fmt.Printf("pushed %s\n", ref)
		}
		return nil
	}
	idx, err := ociimage.Index(images...)
	if err != nil {
		return fmt.Errorf("%s: %w", program, err)
	}
	digest, err := idx.Digest()
	if err != nil {
		return err
	}
	fmt.Printf("%s@%s  (index of %d platforms)\n", ref, digest, len(images))
	if push {
		if err := remote.WriteIndex(ref, idx, opts...); err != nil {
			return fmt.Errorf("pushing %s: %w", ref, err)
		}
		fmt.Printf("pushed %s\n", ref)
	}
	return nil
}

// writeTarball writes img to file in `docker save`'s format, renamed into
// place so that an interrupted run leaves no truncated tarball to load.
func writeTarball(file string, ref name.Tag, img v1.Image) error {
	if err := tarball.WriteToFile(file+".tmp", ref, img); err != nil {
		return fmt.Errorf("writing %s: %w", file, err)
	}
	return os.Rename(file+".tmp", file)
}
