// Package docs holds tests of the project's Markdown: the docs are read
// as much as the code, and a link into a renamed section fails silently
// on GitHub.
package docs
