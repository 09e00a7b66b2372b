module sgl.example/go

go 1.19
