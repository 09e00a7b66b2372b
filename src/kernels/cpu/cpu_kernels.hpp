// The per-ISA kernel table of the CPU backend. Each ISA (scalar, AVX2, AVX-512) fills one table
// in its own translation unit, compiled with its own -m flags; CpuBackend picks a table once at
// start-up and does all threading itself, so the kernels here are single-threaded and work on
// one tile / row / (sequence, head) at a time.
#pragma once

#include <cstddef>
#include <cstdint>

#include "kernels/backend.hpp"
#include "kernels/dtype.hpp"
#include "kernels/quant.hpp"  // dequantize_row for Q8_0 KV rows in attention

namespace sgl::kernels::cpu {

enum class Isa : int { kScalar = 0, kAvx2 = 1, kAvx512 = 2 };

// One tile of y = x · Wᵀ: tokens [t0, t1) × output rows [r0, r1).
struct GemmTile {
  const void* act = nullptr;  // F32/F16/BF16 weights: x (F32 rows); quantized: prepared activations
  size_t act_stride = 0;      // bytes between consecutive token rows of `act`
  const uint8_t* w = nullptr;
  size_t w_stride = 0;  // bytes per weight row
  DType wt = DType::F32;
  int64_t cols = 0;
  float* y = nullptr;
  int64_t ldy = 0;  // floats between token rows of y
  int64_t r0 = 0, r1 = 0, t0 = 0, t1 = 0;
  // Packed weights (KernelTable::gemm_packed): `w` is the packed copy, `w_stride` the bytes of one
  // group of pack_rows rows, and r0 is a multiple of pack_rows.
};

// One attention task: query rows [i0, i1) of sequence `seq`, query head `head`.
struct AttnTask {
  const float* q = nullptr;
  float* out = nullptr;
  const KvLayer* kv = nullptr;
  const AttnSeq* seq = nullptr;
  int n_heads = 0;
  int head = 0;
  int i0 = 0, i1 = 0;
  float scale = 1.0f;
};

struct KernelTable {
  const char* name;
  // Quantized weights (Q8_0, Q4_0): bytes of one prepared activation row of `cols` values, and
  // the function preparing it (int8 blocks + scales in whatever layout this ISA's gemm wants).
  size_t (*act_bytes)(DType wt, int64_t cols);
  void (*prepare_act)(DType wt, const float* x, int64_t cols, void* dst);
  void (*gemm)(const GemmTile& t);

  void (*rms_norm_row)(const float* x, const float* w, float* y, int64_t dim, float eps);
  // Rotates one token (n_heads heads); cs holds cos/sin pairs, n_rot/2 of them.
  void (*rope_row)(float* x, int n_heads, const float* cs, const RopeParams& p);
  void (*swiglu)(const float* gate, const float* up, float* out, int64_t n);
  void (*add)(float* y, const float* x, int64_t n);
  // Converts n floats to the KV storage dtype (F32, F16, BF16).
  void (*store_row)(DType dt, const float* src, void* dst, int64_t n);
  void (*attention)(const AttnTask& t);

  // Optional repacked weight layout (0 / nullptr where an ISA has none). Rows are packed in groups
  // of pack_rows; packed_group_bytes(wt, cols) is the (64-byte multiple) size of one group, 0 for
  // weight types without a packed form. pack_group packs n_rows <= pack_rows source rows (the rest
  // of the group is zero padding); gemm_packed is gemm over such groups, with activations
  // prepared (act_bytes / prepare_act) for packed_act_type(wt): Q8_0 ones as for Q4_0, since
  // the packed Q8_0 kernels need each block's Σa; every other type as for itself.
  int pack_rows;
  size_t (*packed_group_bytes)(DType wt, int64_t cols);
  void (*pack_group)(DType wt, const uint8_t* src, size_t src_stride, int64_t n_rows, int64_t cols, uint8_t* dst);
  void (*gemm_packed)(const GemmTile& t);
};

// Integer matmul of one weight type that keeps its own activation layout (q4_1_*.cpp): the
// backend prepares activations with these and tiles `gemm` exactly as for KernelTable's.
struct QuantGemm {
  size_t (*act_bytes)(int64_t cols);
  void (*prepare_act)(const float* x, int64_t cols, void* dst);
  void (*gemm)(const GemmTile& t);
};
const QuantGemm& q4_1_gemm(Isa isa);  // Q4_1 weights on the best table at or below `isa`

// K-quant (Q2_K..Q6_K) and Q5_0/Q5_1 weights (kquant_*.cpp): their own prepared-activation
// layout (see kquant_generic.hpp) and gemm; same contract as KernelTable's three members.
struct KQuantKernels {
  size_t (*act_bytes)(DType wt, int64_t cols);
  void (*prepare_act)(DType wt, const float* x, int64_t cols, void* dst);
  void (*gemm)(const GemmTile& t);
};

const KQuantKernels& kquant_scalar();
const KQuantKernels& kquant_avx2();
const KQuantKernels& kquant_avx512();

const KernelTable& kernels_scalar();
const KernelTable& kernels_avx2();
const KernelTable& kernels_avx512();

// AVX-512 packed layouts (q4_0_packed_avx512.cpp, which hands Q4_K/Q5_K/Q6_K to the files below),
// referenced by kernels_avx512()'s table. The K-quant packed GEMMs read kquant_generic.hpp's
// prepared activations (the backend prepares those for every K-quant matmul, packed or not).
size_t avx512_packed_group_bytes(DType wt, int64_t cols);
void avx512_pack_group(DType wt, const uint8_t* src, size_t src_stride, int64_t n_rows, int64_t cols, uint8_t* dst);
void avx512_gemm_packed(const GemmTile& t);
constexpr int kAvx512PackRows = 16;
// Q4_K's 16-row layout (q4_k_packed_avx512.cpp), dispatched from the three functions above.
size_t q4_kx16_group_bytes(int64_t cols);
void q4_kx16_pack(const uint8_t* src, size_t src_stride, int64_t n_rows, int64_t cols, uint8_t* dst);
void q4_kx16_gemm(const GemmTile& t);
size_t q5_kx16_group_bytes(int64_t cols);  // Q5_K: the same layout plus the fifth bits
void q5_kx16_pack(const uint8_t* src, size_t src_stride, int64_t n_rows, int64_t cols, uint8_t* dst);
void q5_kx16_gemm(const GemmTile& t);
// Q6_K's 16-row layout (q6_k_packed_avx512.cpp), dispatched the same way.
size_t q6_kx16_group_bytes(int64_t cols);
void q6_kx16_pack(const uint8_t* src, size_t src_stride, int64_t n_rows, int64_t cols, uint8_t* dst);
void q6_kx16_gemm(const GemmTile& t);

// Q8_0's 16-row layout (q8_0_packed_avx512.cpp), dispatched the same way. Its gemm reads
// activations prepared for Q4_0 (it needs their per-block -Σa; see packed_act_type).
size_t q8_0x16_group_bytes(int64_t cols);
void q8_0x16_pack(const uint8_t* src, size_t src_stride, int64_t n_rows, int64_t cols, uint8_t* dst);
void q8_0x16_gemm(const GemmTile& t);

// AVX2 packed layouts (q8_0_packed_avx2.cpp: Q8_0 in 8-row groups), referenced by
// kernels_avx2()'s table; they read the plain prepared activations of kernels_generic.hpp.
size_t avx2_packed_group_bytes(DType wt, int64_t cols);
void avx2_pack_group(DType wt, const uint8_t* src, size_t src_stride, int64_t n_rows, int64_t cols, uint8_t* dst);
void avx2_gemm_packed(const GemmTile& t);
constexpr int kAvx2PackRows = 8;

// Only CpuBackend (built without ISA flags) calls this, so no ISA-flagged copy of it exists.
inline DType packed_act_type(DType wt) { return wt == DType::Q8_0 ? DType::Q4_0 : wt; }

// Best ISA this CPU supports (detected once), parsing of "scalar"/"avx2"/"avx512".
Isa detect_isa();
bool parse_isa(const char* s, Isa* out);
const char* isa_name(Isa isa);

}  // namespace sgl::kernels::cpu
