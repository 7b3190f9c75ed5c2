// Command images builds the container image of each binary given, writes
// it to OUT/<name>.tar (`docker load`, `podman load`, `kind load
// image-archive` and `crane push` read it) and, with --push, pushes it as
// REPOSITORY/<name>:TAG with the credentials of ~/.docker/config.json.
// `make images` runs it; internal/ociimage says what an image holds.
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
	for _, bin := range flag.Args() {
		if err := build(ctx, bin, *repository, *tag, *out, *push, o); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
	}
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

func build(ctx context.Context, bin, repository, tag, out string, push bool, o ociimage.Options) error {
	ref, err := name.NewTag(repository + "/" + filepath.Base(bin) + ":" + tag)
	if err != nil {
		return fmt.Errorf("image name for %s: %w", bin, err)
	}
	img, err := ociimage.Build(bin, o)
	if err != nil {
		return err
	}
	// Renamed into place, so that an interrupted run leaves no truncated
	// tarball to load.
	file := filepath.Join(out, filepath.Base(bin)+".tar")
	if err := tarball.WriteToFile(file+".tmp", ref, img); err != nil {
		return fmt.Errorf("writing %s: %w", file, err)
	}
	if err := os.Rename(file+".tmp", file); err != nil {
		return err
	}
	digest, err := img.Digest()
	if err != nil {
		return err
	}
	fmt.Printf("%s@%s  %s\n", ref, digest, file)
	if push {
		if err := remote.Write(ref, img, remote.WithContext(ctx), remote.WithAuthFromKeychain(authn.DefaultKeychain)); err != nil {
			return fmt.Errorf("pushing %s: %w", ref, err)
		}
		fmt.Printf("pushed %s@%s\n", ref, digest)
	}
	return nil
}
