// Regenerates hf-golden.json: the encodings Hugging Face's own tokenizer (the Rust library,
// through its Node binding, npm package tokenizers@0.23.2) gives for bert-base-uncased.json.
// Run: npm install tokenizers@0.23.2 && node hf-golden.js > hf-golden.json
// Offsets are in characters (code points), as Hugging Face reports them. decoded is the ids
// decoded with special tokens skipped, decodedWithSpecial without skipping.
const {Tokenizer} = require('tokenizers');
const texts = [
  "Hello, world!", "My order #12345 hasn't arrived.", "José Müller called.", "unaffable tokenization",
  "Zoe\u00a0Renee\u200b\tcafé\n", "", "   ", "Straße in Köln", "İstanbul naïve façade résumé",
  "Ångström ÅNGSTRÖM Øresund Łódź", "I ❤️ pizza 🍕!!", "我爱北京天安门", "東京タワーへ行く",
  "Price: $1,299.99 (incl. VAT) — 20% off…", "e-mail: john.doe@example.com, tel +1-555-0100",
  "don't won't can't y'all", "“Smart quotes” and ‘single’ «guillemets»", "Привет, мир! Ελληνικά",
  "مرحبا بالعالم", "नमस्ते दुनिया", "ﬁne ﬂour ½ ² Ⅻ", "tab\there\r\nnewline\u0000null\u0007bell",
  "supercalifragilisticexpialidocious antidisestablishmentarianism", "[CLS] [SEP] [MASK] [UNK] ##ing",
  "a[MASK]b [mask] x[SEP]", "Mr. O'Neil's order #A-77 was refunded; please confirm ASAP!!!",
  "x".repeat(101), "ǅemal ǈubica", "\u0301leading combining mark", "a\u0301e\u0300i\u0302",
  "ﾊﾝｶｸ ｶﾀｶﾅ", "ＦＵＬＬＷＩＤＴＨ １２３", "\ufeffbom \u2028line\u2029para \u00ad soft\u00adhyphen",
];
async function encodeAll(tk) {
  const out = [];
  for (const t of texts) {
    const e = await tk.encode(t, null, {addSpecialTokens: true});
    out.push({text: t, ids: e.getIds(), tokens: e.getTokens(), offsets: e.getOffsets(),
      wordIds: e.getWordIds().map(w => (w === null || w === undefined) ? -1 : w),
      specialTokensMask: e.getSpecialTokensMask(), attentionMask: e.getAttentionMask(), typeIds: e.getTypeIds(),
      decoded: await tk.decode(e.getIds(), true), decodedWithSpecial: await tk.decode(e.getIds(), false)});
  }
  return out;
}
(async () => {
  const tk = Tokenizer.fromFile(__dirname + '/bert-base-uncased.json');
  const full = await encodeAll(tk);
  tk.setTruncation(8);
  const truncated = await encodeAll(tk);
  console.log(JSON.stringify({full, maxLength8: truncated}, null, 0));
})();
