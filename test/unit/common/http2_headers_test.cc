// Encoding a head into nghttp2's name/value list: per-request identifiers travel as literals
// never indexed, so they stay out of the HPACK dynamic table that the repeating fields share.
#include <gtest/gtest.h>
#include <nghttp2/nghttp2.h>

#include <string>
#include <string_view>

#include "common/http2/headers.h"

namespace remora::http2 {
namespace {

uint8_t flagsOf(NvList& list, std::string_view name) {
  const nghttp2_nv* nv = list.data();
  for (size_t i = 0; i < list.size(); ++i) {
    if (std::string_view(reinterpret_cast<const char*>(nv[i].name), nv[i].namelen) == name) {
      return nv[i].flags;
    }
  }
  ADD_FAILURE() << name << " is not in the list";
  return 0xff;
}

http::RequestHead requestWithId(std::string_view id, std::string_view id_name = "x-request-id") {
  http::RequestHead head;
  head.method = "GET";
  head.path = "/";
  head.headers.add("host", "svc.local");
  head.headers.add("user-agent", "test/1");
  head.headers.add(id_name, id);
  head.headers.add("traceparent", std::string("00-") + std::string(id) + "-01");
  return head;
}

TEST(Http2Headers, PerRequestIdentifiersAreNeverIndexedAndTheRestAre) {
  NvList list;
  encodeRequestHead(requestWithId("0af7651916cd43dd8448eb211c80319c", "X-Request-Id"), list);
  EXPECT_EQ(flagsOf(list, "X-Request-Id"), NGHTTP2_NV_FLAG_NO_INDEX);
  EXPECT_EQ(flagsOf(list, "traceparent"), NGHTTP2_NV_FLAG_NO_INDEX);
  EXPECT_EQ(flagsOf(list, "user-agent"), NGHTTP2_NV_FLAG_NONE);
  EXPECT_EQ(flagsOf(list, ":authority"), NGHTTP2_NV_FLAG_NONE);
}

TEST(Http2Headers, ManyRequestsLeaveTheDeflateTableWithTheRepeatingFieldsOnly) {
  nghttp2_hd_deflater* deflater = nullptr;
  ASSERT_EQ(nghttp2_hd_deflate_new(&deflater, 4096), 0);
  nghttp2_hd_inflater* inflater = nullptr;
  ASSERT_EQ(nghttp2_hd_inflate_new(&inflater), 0);
  size_t entries_after_first = 0;
  for (int i = 0; i < 50; ++i) {
    NvList list;
    encodeRequestHead(requestWithId(std::to_string(1000000 + i)), list);
    uint8_t out[1024];
    ssize_t n = nghttp2_hd_deflate_hd(deflater, out, sizeof(out), list.data(), list.size());
    ASSERT_GT(n, 0);
    // The peer sees the identifiers marked never indexed, with their values intact.
    const uint8_t* in = out;
    size_t left = static_cast<size_t>(n);
    int never_indexed = 0;
    int ids_seen = 0;
    for (;;) {
      nghttp2_nv nv;
      int flags = 0;
      ssize_t used = nghttp2_hd_inflate_hd2(inflater, &nv, &flags, in, left, 1);
      ASSERT_GE(used, 0);
      in += used;
      left -= static_cast<size_t>(used);
      if ((flags & NGHTTP2_HD_INFLATE_EMIT) != 0) {
        std::string_view name(reinterpret_cast<const char*>(nv.name), nv.namelen);
        if (name == "x-request-id") {
          ++ids_seen;
          EXPECT_EQ(std::string_view(reinterpret_cast<const char*>(nv.value), nv.valuelen),
                    std::to_string(1000000 + i));
        }
        if ((nv.flags & NGHTTP2_NV_FLAG_NO_INDEX) != 0) {
          ++never_indexed;
        }
      }
      if ((flags & NGHTTP2_HD_INFLATE_FINAL) != 0) {
        nghttp2_hd_inflate_end_headers(inflater);
        break;
      }
    }
    EXPECT_EQ(never_indexed, 2);
    EXPECT_EQ(ids_seen, 1);
    if (i == 0) {
      entries_after_first = nghttp2_hd_deflate_get_num_table_entries(deflater);
    }
  }
  // Identical heads but for the identifiers: the table does not grow after the first.
  EXPECT_EQ(nghttp2_hd_deflate_get_num_table_entries(deflater), entries_after_first);
  nghttp2_hd_inflate_del(inflater);
  nghttp2_hd_deflate_del(deflater);
}

}  // namespace
}  // namespace remora::http2
