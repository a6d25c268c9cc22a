module github.com/muthuishere/vsync-s3-client/bindings/go

go 1.22
