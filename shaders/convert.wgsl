// Dtype conversion on raw bits (twin: src/engine/cpu/float_bits.ts, function for function).
// Everything works on u32 bit patterns: no float arithmetic, so denormals and NaN payloads come out
// exactly as torch writes them. Sub-word types are packed little-endian, 2 x 16-bit or 4 x 8-bit per u32.
// region_copy.wgsl and row_gather.wgsl are appended to this file: they share the bindings and helpers.

// Element kinds: the KIND_* constants (KIND_FLOAT32, KIND_BFLOAT16, ..., KIND_RAW32) are declared by the
// engine in front of this text from `KIND` in src/engine/gpu/kinds.ts, their one definition.

override SRC_KIND: u32 = 0u;
override DST_KIND: u32 = 0u;
override WORKGROUP_SIZE: u32 = 64u;

struct Params {
  // Destination words this dispatch writes.
  word_count: u32,
  // Index (in destination elements of the bound window) of the first word written.
  first_word: u32,
  // Source element index, within the bound source window, of the job's first element.
  src_base: u32,
  // Destination element index, within the bound destination window, of the job's first element.
  dst_base: u32,
  // Elements in the job (linear convert) or per row (row gather).
  count: u32,
  row_elements: u32,
}

@group(0) @binding(0) var<storage, read> src_words: array<u32>;
@group(0) @binding(1) var<storage, read_write> dst_words: array<u32>;
@group(0) @binding(2) var<uniform> params: Params;

fn bits_of(kind: u32) -> u32 {
  switch kind {
    case KIND_BFLOAT16, KIND_FLOAT16, KIND_RAW16: { return 16u; }
    case KIND_FLOAT8_E4M3FN, KIND_FLOAT8_E5M2, KIND_RAW8: { return 8u; }
    case KIND_FLOAT64: { return 64u; }
    default: { return 32u; }
  }
}

// Element `e` of the source window; float64 gives (low word, high word).
fn load_src(e: u32) -> vec2<u32> {
  let bits = bits_of(SRC_KIND);
  if (bits == 64u) {
    return vec2<u32>(src_words[2u * e], src_words[2u * e + 1u]);
  }
  if (bits == 32u) {
    return vec2<u32>(src_words[e], 0u);
  }
  let per_word = 32u / bits;
  let word = src_words[e / per_word];
  let shift = (e % per_word) * bits;
  return vec2<u32>((word >> shift) & ((1u << bits) - 1u), 0u);
}

fn round_magnitude(a: u32, mant_bits: u32, bias: u32) -> u32 {
  let ex = a >> 23u;
  if (ex >= 128u - bias) {
    let shift = 23u - mant_bits;
    let t = a - ((127u - bias) << 23u);
    return (t + (1u << (shift - 1u)) - 1u + ((t >> shift) & 1u)) >> shift;
  }
  let shift = 151u - bias - mant_bits - ex;
  if (ex == 0u || shift > 24u) {
    return 0u;
  }
  let m = (a & 0x7FFFFFu) | 0x800000u;
  let q = m >> shift;
  let rem = m & ((1u << shift) - 1u);
  let halfway = 1u << (shift - 1u);
  if (rem > halfway || (rem == halfway && (q & 1u) == 1u)) {
    return q + 1u;
  }
  return q;
}

fn f32_to_bf16(x: u32, wide_source: bool) -> u32 {
  if ((x & 0x7FFFFFFFu) > 0x7F800000u) {
    return select(0x7FC0u, 0xFFFFu, wide_source);
  }
  return ((x + 0x7FFFu + ((x >> 16u) & 1u)) >> 16u) & 0xFFFFu;
}

fn f32_to_f16(x: u32) -> u32 {
  let sgn = (x >> 16u) & 0x8000u;
  let a = x & 0x7FFFFFFFu;
  if (a > 0x7F800000u) {
    return sgn | 0x7E00u | ((a >> 13u) & 0x3FFu);
  }
  if (a == 0x7F800000u) {
    return sgn | 0x7C00u;
  }
  return sgn | min(round_magnitude(a, 10u, 15u), 0x7C00u);
}

fn f32_to_e4m3fn(x: u32) -> u32 {
  let sgn = (x >> 24u) & 0x80u;
  let a = x & 0x7FFFFFFFu;
  if (a > 0x7F800000u) {
    return sgn | 0x7Fu;
  }
  if (a == 0x7F800000u) {
    return sgn | 0x7Eu;
  }
  let h = round_magnitude(a, 3u, 7u);
  return sgn | select(h, 0x7Eu, h >= 0x7Fu);
}

fn f32_to_e5m2(x: u32) -> u32 {
  let sgn = (x >> 24u) & 0x80u;
  let a = x & 0x7FFFFFFFu;
  if (a > 0x7F800000u) {
    return sgn | 0x7Fu;
  }
  if (a == 0x7F800000u) {
    return sgn | 0x7Cu;
  }
  return sgn | min(round_magnitude(a, 2u, 15u), 0x7Cu);
}

fn f16_to_f32(h: u32) -> u32 {
  let sgn = (h & 0x8000u) << 16u;
  let ex = (h >> 10u) & 0x1Fu;
  let mant = h & 0x3FFu;
  if (ex == 0x1Fu) {
    return sgn | select(0x7FC00000u | (mant << 13u), 0x7F800000u, mant == 0u);
  }
  if (ex != 0u) {
    return sgn | ((ex + 112u) << 23u) | (mant << 13u);
  }
  if (mant == 0u) {
    return sgn;
  }
  let lead = firstLeadingBit(mant);
  return sgn | ((lead + 103u) << 23u) | ((mant << (23u - lead)) & 0x7FFFFFu);
}

fn e4m3fn_to_f32(b: u32) -> u32 {
  let sgn = (b & 0x80u) << 24u;
  let ex = (b >> 3u) & 0xFu;
  let mant = b & 0x7u;
  if (ex == 0xFu && mant == 0x7u) {
    return sgn | 0x7FF00000u;
  }
  if (ex != 0u) {
    return sgn | ((ex + 120u) << 23u) | (mant << 20u);
  }
  if (mant == 0u) {
    return sgn;
  }
  let lead = firstLeadingBit(mant);
  return sgn | ((lead + 118u) << 23u) | ((mant << (23u - lead)) & 0x7FFFFFu);
}

fn f64_to_f32(lo: u32, hi: u32) -> u32 {
  let sgn = hi & 0x80000000u;
  let ahi = hi & 0x7FFFFFFFu;
  let ex = ahi >> 20u;
  if (ex == 0x7FFu) {
    if ((ahi & 0xFFFFFu) == 0u && lo == 0u) {
      return sgn | 0x7F800000u;
    }
    return sgn | 0x7FC00000u | ((ahi & 0xFFFFFu) << 3u) | (lo >> 29u);
  }
  if (ex >= 1151u) {
    return sgn | 0x7F800000u;
  }
  let top = (((ahi & 0xFFFFFu) << 3u) | (lo >> 29u)) | select(0u, 0x800000u, ex != 0u);
  let lower = lo & 0x1FFFFFFFu;
  var kept = top;
  var round_up = false;
  var biased = 0u;
  if (ex > 896u) {
    biased = (ex - 897u) << 23u;
    round_up = lower > 0x10000000u || (lower == 0x10000000u && (kept & 1u) == 1u);
  } else {
    // Denormal float32: shift the 24-bit significand right; sticky-or the 29 dropped low bits.
    let shift = 897u - ex;
    if (shift > 25u) {
      return sgn;
    }
    kept = top >> shift;
    let dropped = top & ((1u << shift) - 1u);
    let halfway = 1u << (shift - 1u);
    let above = dropped > halfway || (dropped == halfway && lower != 0u);
    let tie = dropped == halfway && lower == 0u;
    round_up = above || (tie && (kept & 1u) == 1u);
  }
  let mag = biased + kept + select(0u, 1u, round_up);
  return sgn | min(mag, 0x7F800000u);
}

fn widen_to_f32(v: vec2<u32>) -> u32 {
  switch SRC_KIND {
    case KIND_BFLOAT16: { return v.x << 16u; }
    case KIND_FLOAT16: { return f16_to_f32(v.x); }
    case KIND_FLOAT8_E4M3FN: { return e4m3fn_to_f32(v.x); }
    case KIND_FLOAT8_E5M2: { return f16_to_f32(v.x << 8u); }
    case KIND_FLOAT64: { return f64_to_f32(v.x, v.y); }
    default: { return v.x; }
  }
}

// One source element to one destination element's bits (raw kinds copy bits unchanged).
fn convert_element(v: vec2<u32>) -> u32 {
  if (SRC_KIND >= KIND_RAW8) {
    return v.x;
  }
  let x = widen_to_f32(v);
  switch DST_KIND {
    case KIND_BFLOAT16: { return f32_to_bf16(x, SRC_KIND == KIND_FLOAT32 || SRC_KIND == KIND_FLOAT64); }
    case KIND_FLOAT16: { return f32_to_f16(x); }
    case KIND_FLOAT8_E4M3FN: { return f32_to_e4m3fn(x); }
    case KIND_FLOAT8_E5M2: { return f32_to_e5m2(x); }
    default: { return x; }
  }
}

// Flattens a 2-D dispatch (more than 65535 workgroups need a second dimension) into one invocation index.
fn invocation_index(gid: vec3<u32>, groups: vec3<u32>) -> u32 {
  return gid.y * groups.x * WORKGROUP_SIZE + gid.x;
}

// Linear conversion: destination word w packs elements [w * per_word, (w + 1) * per_word) of the job.
@compute @workgroup_size(WORKGROUP_SIZE)
fn convert_main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>) {
  let w = invocation_index(gid, groups);
  if (w >= params.word_count) {
    return;
  }
  let bits = bits_of(DST_KIND);
  let per_word = 32u / bits;
  var word = 0u;
  for (var slot = 0u; slot < per_word; slot++) {
    let e = (params.first_word + w) * per_word + slot;
    if (e < params.count) {
      word |= convert_element(load_src(params.src_base + e)) << (slot * bits);
    }
  }
  dst_words[params.first_word + w] = word;
}
