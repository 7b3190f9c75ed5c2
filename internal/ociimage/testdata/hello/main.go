// Command hello is the static binary ociimage's tests put in an image.
package main

import "fmt"

func main() { fmt.Println("hello from a static binary") }
