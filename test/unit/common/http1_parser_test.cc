// The HTTP/1 codec: every input gives the same events whether it arrives whole, split in two at
// any byte offset, or one byte at a time. Malformed and smuggling-shaped inputs are errors.

#include "common/http1_parser.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace remora::common {
namespace {

// Records parser events as text: one line per head, the whole body per message, one per end.
class Recorder final : public Http1Parser::Callbacks {
 public:
  explicit Recorder(bool head_response = false) : head_response_(head_response) {}
  HeadAction onHeaders(MessageHead& h) noexcept override {
    events += "HEAD " + (h.status ? std::to_string(h.status) + " " + h.reason : h.method + " " + h.url);
    events += " v1." + std::to_string(h.version_minor);
    events += h.keep_alive ? " ka" : " close";
    events += h.chunked ? " chunked" : "";
    events += " cl=" + std::to_string(h.content_length);
    events += h.upgrade ? " upgrade" : "";
    h.headers.forEach([&](std::string_view n, std::string_view v) {
      events += " [" + std::string(n) + ": " + std::string(v) + "]";
    });
    events += "\n";
    return head_response_ ? HeadAction::kSkipBody : HeadAction::kContinue;
  }
  void onBody(std::string_view d) noexcept override { body.append(d); }
  bool onMessageComplete() noexcept override {
    events += "BODY " + body + "\n";
    if (parser != nullptr && parser->trailers().size() != 0) {
      events += "TRAILERS";
      parser->trailers().forEach([&](std::string_view n, std::string_view v) {
        events += " [" + std::string(n) + ": " + std::string(v) + "]";
      });
      events += "\n";
    }
    events += "END\n";
    body.clear();
    return false;
  }
  std::string events;
  std::string body;
  bool head_response_;
  const Http1Parser* parser = nullptr;  // to read trailers at the end of each message
};

struct Outcome {
  std::string events;
  Http1Parser::Status last = Http1Parser::Status::kOk;
  Http1Parser::Error error = Http1Parser::Error::kNone;
  std::string method;  // the head's, at the end (what an error answer would name)
  std::string url;
};

// Feeds `pieces` in order; stops at the first error or upgrade.
Outcome run(Http1Parser::Kind kind, const std::vector<std::string_view>& pieces,
            bool head_response = false, ParserLimits limits = ParserLimits(), bool finish = false) {
  Recorder rec(head_response);
  Http1Parser p(kind, rec, limits);
  rec.parser = &p;
  Outcome out;
  for (std::string_view piece : pieces) {
    auto r = p.feed(piece);
    out.last = r.status;
    if (r.status == Http1Parser::Status::kError || r.status == Http1Parser::Status::kUpgrade) {
      break;
    }
  }
  if (finish && out.last == Http1Parser::Status::kOk) {
    out.last = p.finish();
  }
  out.error = p.error();
  out.events = rec.events;
  out.method = p.head().method;
  out.url = p.head().url;
  return out;
}

// The same events for the whole input, every two-way split, and byte by byte.
void expectSplitInvariant(Http1Parser::Kind kind, std::string_view input, bool head_response = false,
                          bool finish = false) {
  Outcome whole = run(kind, {input}, head_response, ParserLimits(), finish);
  ASSERT_NE(whole.last, Http1Parser::Status::kError) << input;
  for (size_t i = 0; i <= input.size(); ++i) {
    Outcome split = run(kind, {input.substr(0, i), input.substr(i)}, head_response, ParserLimits(),
                        finish);
    ASSERT_EQ(split.events, whole.events) << "split at " << i;
    ASSERT_EQ(split.last, whole.last) << "split at " << i;
  }
  std::vector<std::string_view> bytes;
  for (size_t i = 0; i < input.size(); ++i) {
    bytes.push_back(input.substr(i, 1));
  }
  Outcome one = run(kind, bytes, head_response, ParserLimits(), finish);
  EXPECT_EQ(one.events, whole.events);
}

constexpr auto kReq = Http1Parser::Kind::kRequest;
constexpr auto kResp = Http1Parser::Kind::kResponse;

TEST(Http1ParserTest, SimpleGetIsTheSameAtEverySplit) {
  std::string in = "GET /a?b=1 HTTP/1.1\r\nHost: orders:8080\r\nX-Thing:  spaced  \r\n\r\n";
  expectSplitInvariant(kReq, in);
  Outcome o = run(kReq, {in});
  EXPECT_NE(o.events.find("HEAD GET /a?b=1 v1.1 ka cl=-1 [Host: orders:8080]"), std::string::npos)
      << o.events;
}

TEST(Http1ParserTest, ContentLengthBodyIsTheSameAtEverySplit) {
  expectSplitInvariant(kReq, "POST /p HTTP/1.1\r\nHost: x\r\nContent-Length: 11\r\n\r\nhello world");
}

TEST(Http1ParserTest, ChunkedBodyWithExtensionsAndTrailersIsTheSameAtEverySplit) {
  std::string in =
      "POST /c HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
      "5;ext=1\r\nhello\r\n6\r\n world\r\n0\r\nX-Trailer: t\r\n\r\n";
  expectSplitInvariant(kReq, in);
  Outcome o = run(kReq, {in});
  EXPECT_NE(o.events.find("BODY hello world\nTRAILERS [X-Trailer: t]\nEND"), std::string::npos)
      << o.events;
  EXPECT_NE(o.events.find(" chunked"), std::string::npos);
}

// ---- trailers -------------------------------------------------------------------------------

void expectBad(std::string_view in);  // below, with the other malformed inputs

TEST(Http1ParserTest, TrailersAreKeptApartFromTheHeadAtEverySplit) {
  std::string in =
      "POST /c HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
      "3\r\nabc\r\n0\r\nX-Sum: 1\r\ngrpc-status: 0\r\n\r\n"
      "POST /d HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n";
  expectSplitInvariant(kReq, in);
  Outcome o = run(kReq, {in});
  EXPECT_EQ(o.events,
            "HEAD POST /c v1.1 ka chunked cl=-1 [Host: x] [Transfer-Encoding: chunked]\n"
            "BODY abc\nTRAILERS [X-Sum: 1] [grpc-status: 0]\nEND\n"
            "HEAD POST /d v1.1 ka chunked cl=-1 [Host: x] [Transfer-Encoding: chunked]\n"
            "BODY \nEND\n");
  // The head never sees them.
  Recorder rec;
  Http1Parser p(kReq, rec);
  ASSERT_EQ(p.feed(std::string_view(in).substr(0, in.find("POST /d"))).status,
            Http1Parser::Status::kOk);
  EXPECT_FALSE(p.head().headers.has("X-Sum"));
  EXPECT_EQ(p.trailers().get("x-sum"), "1");
}

TEST(Http1ParserTest, ResponseTrailersAreTheSameAtEverySplit) {
  expectSplitInvariant(kResp,
                       "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
                       "2\r\nok\r\n0\r\ngrpc-status: 0\r\ngrpc-message: a b\r\n\r\n");
}

TEST(Http1ParserTest, TrailerSectionHasTheHeaderLimitsOfItsOwn) {
  ParserLimits limits;
  limits.max_headers = 3;
  limits.max_header_bytes = 256;
  std::string head =
      "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nA: 1\r\n\r\n0\r\n";
  // Three trailer fields after three header fields: each section is within its limit.
  std::string three = head + "T1: v\r\nT2: v\r\nT3: v\r\n\r\n";
  EXPECT_EQ(run(kReq, {three}, false, limits).last, Http1Parser::Status::kOk);
  std::string four = head + "T1: v\r\nT2: v\r\nT3: v\r\nT4: v\r\n\r\n";
  std::string big = head + "T1: " + std::string(300, 'b') + "\r\n\r\n";
  for (const std::string& in : {four, big}) {
    for (size_t i = 0; i <= in.size(); i += 7) {
      Outcome o = run(kReq, {std::string_view(in).substr(0, i), std::string_view(in).substr(i)},
                      false, limits);
      ASSERT_EQ(o.error, Http1Parser::Error::kHeadersTooLarge) << "split at " << i;
    }
  }
}

TEST(Http1ParserTest, FramingFieldsInTrailersAreErrors) {
  expectBad(
      "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
      "0\r\nContent-Length: 5\r\n\r\n");
  expectBad(
      "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
      "0\r\nTransfer-Encoding: chunked\r\n\r\n");
}

TEST(Http1ParserTest, LastChunkCarriesOnlyTrailersThatMayBeForwarded) {
  HeaderMap t;
  t.add("X-Sum", "1");
  t.add("Content-Length", "9");
  t.add("transfer-encoding", "chunked");
  t.add("Host", "evil");
  t.add("Set-Cookie", "a=b");
  t.add("x-request-id", "forged");
  t.add("X-Remora-Attempt", "9");
  t.add("grpc-status", "0");
  std::string out;
  appendLastChunk(t, out);
  EXPECT_EQ(out, "0\r\nX-Sum: 1\r\ngrpc-status: 0\r\n\r\n");
  out.clear();
  appendLastChunk(HeaderMap(), out);
  EXPECT_EQ(out, "0\r\n\r\n");
  EXPECT_TRUE(isForbiddenTrailer("TRAILER"));
  EXPECT_FALSE(isForbiddenTrailer("grpc-message"));
}

// ---- transfer codings -----------------------------------------------------------------------

TEST(Http1ParserTest, TransferCodingsBeforeChunkedAreKeptInOrder) {
  auto codings = [](std::initializer_list<std::string_view> values) {
    HeaderMap h;
    for (std::string_view v : values) {
      h.add("Transfer-Encoding", v);
    }
    std::string out;
    return appendTransferCodings(h, out) ? out : std::string("<none>");
  };
  EXPECT_EQ(codings({}), "<none>");
  EXPECT_EQ(codings({"chunked"}), "<none>");
  EXPECT_EQ(codings({" Chunked "}), "<none>");
  EXPECT_EQ(codings({"gzip, chunked"}), "gzip");
  EXPECT_EQ(codings({"gzip", "chunked"}), "gzip");
  EXPECT_EQ(codings({"x-custom;q=1 ,deflate,  chunked"}), "x-custom;q=1, deflate");
  EXPECT_EQ(codings({"gzip"}), "gzip");
  EXPECT_EQ(codings({"chunked, gzip"}), "chunked, gzip");
  EXPECT_TRUE(codingsNameChunked("chunked, gzip"));
  EXPECT_TRUE(codingsNameChunked("gzip, Chunked;x=1"));
  EXPECT_FALSE(codingsNameChunked("gzip, deflate"));
}

TEST(Http1ParserTest, TransferEncodingFlagIsReportedForEveryCoding) {
  Recorder rec;
  Http1Parser p(kResp, rec);
  ASSERT_EQ(p.feed("HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\nab").status,
            Http1Parser::Status::kOk);
  EXPECT_TRUE(p.head().transfer_encoding);
  EXPECT_FALSE(p.head().chunked);
}

// ---- methods llhttp does not know -----------------------------------------------------------

// The verdict (and the method and target an answer names) is the same at every split.
void expectUnknownMethod(std::string_view in, std::string_view method, std::string_view url) {
  Outcome whole = run(kReq, {in});
  ASSERT_EQ(whole.last, Http1Parser::Status::kError) << in;
  ASSERT_EQ(whole.error, Http1Parser::Error::kUnknownMethod) << in;
  EXPECT_EQ(whole.method, method);
  EXPECT_EQ(whole.url, url);
  for (size_t i = 0; i <= in.size(); ++i) {
    Outcome split = run(kReq, {in.substr(0, i), in.substr(i)});
    ASSERT_EQ(split.error, Http1Parser::Error::kUnknownMethod) << "split at " << i << ": " << in;
    ASSERT_EQ(split.method, method) << "split at " << i;
    ASSERT_EQ(split.url, url) << "split at " << i;
  }
  std::vector<std::string_view> bytes;
  for (size_t i = 0; i < in.size(); ++i) {
    bytes.push_back(in.substr(i, 1));
  }
  Outcome one = run(kReq, bytes);
  EXPECT_EQ(one.error, Http1Parser::Error::kUnknownMethod);
  EXPECT_EQ(one.method, method);
}

TEST(Http1ParserTest, TokenMethodsLlhttpDoesNotKnowAreUnknownMethodAtEverySplit) {
  expectUnknownMethod("FOO /x HTTP/1.1\r\nHost: x\r\n\r\n", "FOO", "/x");
  // A known method's prefix, then something else.
  expectUnknownMethod("PROPFOO /dav HTTP/1.1\r\n\r\n", "PROPFOO", "/dav");
  expectUnknownMethod("GETS /?a=b HTTP/1.0\r\n", "GETS", "/?a=b");
  // Methods are case-sensitive: lower case is another token.
  expectUnknownMethod("get * HTTP/1.1\r\n", "get", "*");
  expectUnknownMethod("X-Y.Z!~ / HTTP/1.1\r\n", "X-Y.Z!~", "/");
  // llhttp knows RTSP's methods, but they are not HTTP ones.
  expectUnknownMethod("DESCRIBE / HTTP/1.1\r\nHost: x\r\n\r\n", "DESCRIBE", "/");
  // After leading empty lines, and after a complete request.
  expectUnknownMethod("\r\nFOO / HTTP/1.1\r\n", "FOO", "/");
  Outcome o = run(kReq, {"GET /1 HTTP/1.1\r\nHost: x\r\n\r\nFOO /2 HTTP/1.1\r\n\r\n"});
  EXPECT_EQ(o.error, Http1Parser::Error::kUnknownMethod);
  EXPECT_EQ(o.method, "FOO");
  EXPECT_EQ(o.url, "/2");
  EXPECT_NE(o.events.find("HEAD GET /1"), std::string::npos) << o.events;
}

TEST(Http1ParserTest, ExtensionMethodsLlhttpKnowsAreParsed) {
  for (std::string_view m : {"PROPFIND", "REPORT", "MKCOL", "PURGE", "QUERY", "SOURCE"}) {
    std::string in = std::string(m) + " / HTTP/1.1\r\nHost: x\r\n\r\n";
    Outcome o = run(kReq, {in});
    EXPECT_EQ(o.last, Http1Parser::Status::kOk) << m;
    EXPECT_NE(o.events.find("HEAD " + std::string(m) + " /"), std::string::npos) << o.events;
  }
}

TEST(Http1ParserTest, MalformedRequestLinesWithUnknownMethodsStayBadMessages) {
  expectBad("FOO\r\n\r\n");
  expectBad("FOO /\r\n\r\n");
  expectBad("FOO / HTTP/2.0\r\n\r\n");
  expectBad("FOO  / HTTP/1.1\r\n\r\n");
  expectBad("FOO / HTTP/1.1 \r\n\r\n");
  expectBad("FOO / HTTP/1.1\n\r\n");
  expectBad("FO(O / HTTP/1.1\r\n\r\n");
  expectBad("FOO /\x01 HTTP/1.1\r\n\r\n");
  expectBad("DESCRIBE / RTSP/1.0\r\n\r\n");
  expectBad("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n");
}

TEST(Http1ParserTest, UnknownMethodLineOverTheLimitIsHeadersTooLarge) {
  ParserLimits limits;
  limits.max_header_bytes = 64;
  std::string in = "FOO /" + std::string(100, 'a');  // no line end yet: it must not grow freely
  for (size_t i = 0; i <= in.size(); i += 9) {
    Outcome o = run(kReq, {std::string_view(in).substr(0, i), std::string_view(in).substr(i)},
                    false, limits);
    EXPECT_EQ(o.error, Http1Parser::Error::kHeadersTooLarge) << i;
  }
}

TEST(Http1ParserTest, PipelinedRequestsAreAllDeliveredInOrder) {
  std::string in =
      "GET /1 HTTP/1.1\r\nHost: x\r\n\r\n"
      "POST /2 HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\nabc"
      "GET /3 HTTP/1.1\r\nHost: x\r\n\r\n";
  expectSplitInvariant(kReq, in);
  Outcome o = run(kReq, {in});
  size_t a = o.events.find("GET /1");
  size_t b = o.events.find("POST /2");
  size_t c = o.events.find("GET /3");
  ASSERT_NE(c, std::string::npos);
  EXPECT_LT(a, b);
  EXPECT_LT(b, c);
}

TEST(Http1ParserTest, Http10DefaultsToCloseAndKeepAliveHeaderKeepsItOpen) {
  Outcome o = run(kReq, {"GET / HTTP/1.0\r\n\r\n"});
  EXPECT_NE(o.events.find("v1.0 close"), std::string::npos) << o.events;
  o = run(kReq, {"GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n"});
  EXPECT_NE(o.events.find("v1.0 ka"), std::string::npos) << o.events;
  expectSplitInvariant(kReq, "GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n");
}

TEST(Http1ParserTest, ConnectionCloseIsReported) {
  Outcome o = run(kReq, {"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"});
  EXPECT_NE(o.events.find("v1.1 close"), std::string::npos) << o.events;
}

TEST(Http1ParserTest, UpgradeRequestStopsWithTheRestAsTunnelBytes) {
  std::string in =
      "GET /ws HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\nRAWBYTES";
  Recorder rec;
  Http1Parser p(kReq, rec);
  auto r = p.feed(in);
  EXPECT_EQ(r.status, Http1Parser::Status::kUpgrade);
  EXPECT_EQ(in.substr(r.consumed), "RAWBYTES");
  EXPECT_NE(rec.events.find(" upgrade"), std::string::npos);
}

TEST(Http1ParserTest, PauseAfterMessageLeavesTheNextRequestUnconsumed) {
  struct Pauser final : Http1Parser::Callbacks {
    HeadAction onHeaders(MessageHead& h) noexcept override {
      urls.push_back(h.url);
      return HeadAction::kContinue;
    }
    void onBody(std::string_view) noexcept override {}
    bool onMessageComplete() noexcept override { return true; }
    std::vector<std::string> urls;
  } rec;
  Http1Parser p(kReq, rec);
  std::string in = "GET /1 HTTP/1.1\r\nHost: x\r\n\r\nGET /2 HTTP/1.1\r\nHost: x\r\n\r\n";
  auto r = p.feed(in);
  ASSERT_EQ(r.status, Http1Parser::Status::kPaused);
  EXPECT_EQ(rec.urls.size(), 1u);
  std::string rest = in.substr(r.consumed);
  EXPECT_EQ(rest.substr(0, 6), "GET /2");
  p.resume();
  r = p.feed(rest);
  EXPECT_EQ(r.status, Http1Parser::Status::kPaused);
  EXPECT_EQ(rec.urls.size(), 2u);
}

TEST(Http1ParserTest, ResponsesWithEveryFramingAreTheSameAtEverySplit) {
  expectSplitInvariant(kResp, "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello");
  expectSplitInvariant(kResp,
                       "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n");
  expectSplitInvariant(kResp, "HTTP/1.1 204 No Content\r\n\r\n");
  expectSplitInvariant(kResp,
                       "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok");
  expectSplitInvariant(kResp, "HTTP/1.1 200 OK\r\n\r\nuntil the end", false, /*finish=*/true);
}

TEST(Http1ParserTest, InterimResponseThenFinalAreTwoMessages) {
  Outcome o = run(kResp, {"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 201 Created\r\nContent-Length: 0\r\n\r\n"});
  EXPECT_NE(o.events.find("HEAD 100 Continue"), std::string::npos) << o.events;
  EXPECT_NE(o.events.find("HEAD 201 Created"), std::string::npos) << o.events;
}

TEST(Http1ParserTest, HeadResponseHasNoBodyWhateverContentLengthSays) {
  Recorder rec;
  Http1Parser p(kResp, rec);
  p.expectHeadResponse(true);
  auto r = p.feed("HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n");
  EXPECT_EQ(r.status, Http1Parser::Status::kOk);
  EXPECT_EQ(rec.events.find("HEAD 200 OK"), 0u);
  EXPECT_NE(rec.events.find("BODY \nEND\nHEAD 200 OK"), std::string::npos) << rec.events;
}

TEST(Http1ParserTest, BodyCutShortByEofIsAnError) {
  Outcome o = run(kResp, {"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc"}, false, ParserLimits(),
                  /*finish=*/true);
  EXPECT_EQ(o.last, Http1Parser::Status::kError);
}

// ---- malformed input and request smuggling shapes -----------------------------------------

void expectBad(std::string_view in) {
  Outcome whole = run(kReq, {in});
  EXPECT_EQ(whole.last, Http1Parser::Status::kError) << in;
  EXPECT_EQ(whole.error, Http1Parser::Error::kBadMessage) << in;
  // Split anywhere, the verdict is the same.
  for (size_t i = 0; i <= in.size(); ++i) {
    Outcome split = run(kReq, {in.substr(0, i), in.substr(i)});
    ASSERT_EQ(split.last, Http1Parser::Status::kError) << "split at " << i << ": " << in;
  }
}

TEST(Http1ParserTest, BadRequestLineIsAnError) {
  expectBad("GARBAGE\r\n\r\n");
  expectBad("GET /\r\n\r\n");
  expectBad("GET / HTTP/9.1\r\nHost: x\r\n\r\n");
  expectBad("GET / HTTP/1.1 extra\r\nHost: x\r\n\r\n");
}

TEST(Http1ParserTest, BadChunkSizeIsAnError) {
  expectBad("POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nabc\r\n0\r\n\r\n");
  expectBad("POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n-5\r\nabc\r\n");
  expectBad(
      "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
      "ffffffffffffffffff\r\nabc\r\n");
}

TEST(Http1ParserTest, ContentLengthWithTransferEncodingIsAnError) {
  expectBad(
      "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n"
      "0\r\n\r\n");
}

TEST(Http1ParserTest, ConflictingContentLengthsAreAnError) {
  expectBad("POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\nabcd");
  expectBad("POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 3, 4\r\n\r\nabcd");
  expectBad("POST / HTTP/1.1\r\nHost: x\r\nContent-Length: -1\r\n\r\n");
  expectBad("POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 1x\r\n\r\n");
}

TEST(Http1ParserTest, SmugglingShapesAreErrors) {
  // Whitespace between the name and the colon.
  expectBad("POST / HTTP/1.1\r\nHost: x\r\nContent-Length : 3\r\n\r\nabc");
  // Transfer-Encoding that does not end in chunked on a request.
  expectBad("POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked, identity\r\n\r\n");
  // Obsolete line folding.
  expectBad("GET / HTTP/1.1\r\nHost: x\r\nX-A: a\r\n b\r\n\r\n");
  // A bare CR inside a header value.
  expectBad("GET / HTTP/1.1\r\nHost: x\r\nX-A: a\rb\r\n\r\n");
  // NUL in a header name.
  expectBad(std::string_view("GET / HTTP/1.1\r\nHo\0st: x\r\n\r\n", 30));
}

TEST(Http1ParserTest, HeaderBytesOverTheLimitAreHeadersTooLarge) {
  ParserLimits limits;
  limits.max_header_bytes = 1024;
  std::string in = "GET / HTTP/1.1\r\nHost: x\r\nX-Big: " + std::string(2000, 'a') + "\r\n\r\n";
  Outcome o = run(kReq, {in}, false, limits);
  EXPECT_EQ(o.last, Http1Parser::Status::kError);
  EXPECT_EQ(o.error, Http1Parser::Error::kHeadersTooLarge);
  for (size_t i = 0; i < in.size(); i += 97) {
    Outcome split = run(kReq, {std::string_view(in).substr(0, i), std::string_view(in).substr(i)},
                        false, limits);
    EXPECT_EQ(split.error, Http1Parser::Error::kHeadersTooLarge) << i;
  }
}

TEST(Http1ParserTest, TooManyHeadersAreHeadersTooLarge) {
  ParserLimits limits;
  limits.max_headers = 10;
  std::string in = "GET / HTTP/1.1\r\n";
  for (int i = 0; i < 11; ++i) {
    in += "X-H" + std::to_string(i) + ": v\r\n";
  }
  in += "\r\n";
  Outcome o = run(kReq, {in}, false, limits);
  EXPECT_EQ(o.error, Http1Parser::Error::kHeadersTooLarge);
  limits.max_headers = 11;
  o = run(kReq, {in}, false, limits);
  EXPECT_EQ(o.last, Http1Parser::Status::kOk);
}

TEST(Http1ParserTest, SerializedHeadsSkipRemovedHeaders) {
  Recorder rec;
  Http1Parser p(kReq, rec);
  ASSERT_EQ(p.feed("GET /x HTTP/1.1\r\nHost: h\r\nConnection: keep-alive\r\nA: 1\r\n\r\n").status,
            Http1Parser::Status::kOk);
  MessageHead& h = p.head();
  h.headers.remove(Wk::kConnection);
  h.headers.add("b", "2");
  std::string out;
  serializeRequestHead(h, out);
  EXPECT_EQ(out, "GET /x HTTP/1.1\r\nHost: h\r\nA: 1\r\nb: 2\r\n\r\n");
  MessageHead r;
  r.status = 404;
  r.headers.add("content-length", "0");
  out.clear();
  serializeResponseHead(r, out);
  EXPECT_EQ(out, "HTTP/1.1 404 Not Found\r\ncontent-length: 0\r\n\r\n");
}

TEST(HeaderMapTest, WellKnownHeadersAreFoundInAnyCaseAndRemovedCleanly) {
  HeaderMap m;
  m.add("CONTENT-length", "5");
  m.add("x-custom", "a");
  m.add("Host", "h");
  EXPECT_EQ(m.get(Wk::kContentLength), "5");
  EXPECT_EQ(m.get(Wk::kHost), "h");
  EXPECT_EQ(m.get("X-CUSTOM"), "a");
  EXPECT_EQ(m.remove(Wk::kContentLength), 1);
  EXPECT_FALSE(m.has(Wk::kContentLength));
  EXPECT_EQ(m.size(), 2u);
  m.set("x-custom", "b");
  EXPECT_EQ(m.get("x-custom"), "b");
  EXPECT_EQ(m.size(), 2u);
  EXPECT_EQ(classifyHeader("Transfer-Encoding"), Wk::kTransferEncoding);
  EXPECT_EQ(classifyHeader("x-forwarded-proto"), Wk::kXForwardedProto);
  EXPECT_EQ(classifyHeader("x-forwarded-prot"), Wk::kNone);
}

}  // namespace
}  // namespace remora::common
