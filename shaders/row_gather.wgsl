// Row gather fused with dtype conversion (twin: src/engine/cpu/row_gather.ts): destination row r is
// source row rows[r]. Appended to convert.wgsl. Like region_copy, an invocation owns one destination
// word and leaves slots outside [dst_base, dst_base + count) untouched, so a job may start and end
// anywhere inside a word.
// params.count: elements written; params.row_elements: elements per row; params.src_base: window
// element index of source row 0.

@group(0) @binding(3) var<storage, read> rows: array<u32>;

@compute @workgroup_size(WORKGROUP_SIZE)
fn row_gather_main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>) {
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
    let e = index * per_word + slot;
    if (e >= params.dst_base && e - params.dst_base < params.count) {
      let j = e - params.dst_base;
      let row = j / params.row_elements;
      let src = params.src_base + rows[row] * params.row_elements + j % params.row_elements;
      let shift = slot * bits;
      word = (word & ~(mask << shift)) | (convert_element(load_src(src)) << shift);
    }
  }
  dst_words[index] = word;
}
