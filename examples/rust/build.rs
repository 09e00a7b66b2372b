// Links the shared libsgl from $SGL_LIB_DIR (the CMake build folder that holds libsgl.so) and
// records that folder as the binary's rpath, so `cargo run` needs no LD_LIBRARY_PATH.
fn main() {
    println!("cargo:rerun-if-env-changed=SGL_LIB_DIR");
    if let Ok(dir) = std::env::var("SGL_LIB_DIR") {
        println!("cargo:rustc-link-search=native={dir}");
        println!("cargo:rustc-link-arg=-Wl,-rpath,{dir}");
    }
    println!("cargo:rustc-link-lib=dylib=sgl");
}
