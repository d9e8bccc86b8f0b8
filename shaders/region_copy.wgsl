// N-d region copy fused with dtype conversion (twin: src/engine/cpu/region_copy.ts).
// Appended to convert.wgsl. One invocation owns one destination word and rewrites only the element
// slots that fall inside the region, so neighbouring words and sub-word elements outside the region
// keep their bytes and no two invocations ever write the same word.
//
// region_layout[0] = rank; then per dimension d (outermost first), 5 words:
//   destination chunk size, destination stride (elements), region origin in the destination chunk,
//   region size, source stride (elements).
// params.dst_base / params.src_base: window element index of the region's origin in each buffer.

@group(0) @binding(3) var<storage, read> region_layout: array<u32>;

// Whether destination element `e` lies in the region; if so, `src` receives its source element.
fn region_source(e: u32, src_out: ptr<function, u32>) -> bool {
  if (e < params.dst_base) {
    return false;
  }
  let rank = region_layout[0];
  var rel = e - params.dst_base;
  var src = params.src_base;
  var carry = 0u;
  // Innermost first: add the region origin to the offset's mixed-radix digits, carrying outward.
  for (var i = 0u; i < rank; i++) {
    let d = rank - 1u - i;
    let at = 1u + 5u * d;
    let size = region_layout[at];
    let stride = region_layout[at + 1u];
    let origin = region_layout[at + 2u];
    let extent = region_layout[at + 3u];
    var digit = rel / stride;
    if (d > 0u) {
      digit = digit % size;
    }
    var coord = origin + digit + carry;
    if (d > 0u) {
      carry = coord / size;
      coord = coord % size;
    }
    if (coord < origin || coord >= origin + extent) {
      return false;
    }
    src += (coord - origin) * region_layout[at + 4u];
  }
  *src_out = src;
  return true;
}

@compute @workgroup_size(WORKGROUP_SIZE)
fn region_copy_main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>) {
  let w = invocation_index(gid, groups);
  if (w >= params.word_count) {
    return;
  }
  let index = params.first_word + w;
  let bits = bits_of(DST_KIND);
  let per_word = 32u / bits;
  let mask = select((1u << bits) - 1u, 0xFFFFFFFFu, bits == 32u);
  var word = dst_words[index];
  for (var slot = 0u; slot < per_word; slot++) {
    var src = 0u;
    if (region_source(index * per_word + slot, &src)) {
      let shift = slot * bits;
      word = (word & ~(mask << shift)) | (convert_element(load_src(src)) << shift);
    }
  }
  dst_words[index] = word;
}
