module github.com/muthuishere/vsync-s3-client/bindings/go/examples/structload

go 1.26.0

require (
	github.com/caarlos0/env/v11 v11.4.2
	github.com/muthuishere/vsync-s3-client/bindings/go v0.0.0
)

// The binding from this repository (an application would require a released version instead).
replace github.com/muthuishere/vsync-s3-client/bindings/go => ../..
