// remoractl's plain-text tables and number formats: padding, alignment, truncation, ages.

#include <gtest/gtest.h>

#include <string>

#include "control/cli/format.h"
#include "control/cli/table.h"

namespace remora::control::cli {
namespace {

TEST(RemoractlTable, PadsEveryColumnToItsWidestCellWithThreeSpacesBetween) {
  Table t({"NAME", "SERVICE", "AGE"});
  t.addRow({"frontend-1", "frontend.shop", "5s"});
  t.addRow({"a", "b", "12m"});
  EXPECT_EQ(t.render(),
            "NAME         SERVICE         AGE\n"
            "frontend-1   frontend.shop   5s\n"
            "a            b               12m\n");
  EXPECT_EQ(t.rowCount(), 2u);
}

TEST(RemoractlTable, RightAlignsNumberColumnsAndNeverLeavesTrailingSpaces) {
  Table t({"SERVICE", "RPS", "NOTE"});
  t.setAlign(1, Table::Align::kRight);
  t.setAlign(7, Table::Align::kRight);  // out of range: ignored
  t.addRow({"catalog", "12.5", ""});
  t.addRow({"cart", "1234.0", "hot"});
  EXPECT_EQ(t.render(),
            "SERVICE      RPS   NOTE\n"
            "catalog     12.5\n"
            "cart      1234.0   hot\n");
}

TEST(RemoractlTable, ShortRowsAreFilledLongRowsCutAndCellsKeptOnOneLine) {
  Table t({"A", "B"});
  t.addRow({"x"});
  t.addRow({"1", "2", "3"});
  t.addRow({"multi\nline", "tab\there"});
  EXPECT_EQ(t.render(),
            "A            B\n"
            "x\n"
            "1            2\n"
            "multi line   tab here\n");
}

TEST(RemoractlTable, HeaderOnlyWhenThereAreNoRows) {
  EXPECT_EQ(Table({"A", "LONGER"}).render(), "A   LONGER\n");
}

TEST(RemoractlTable, WidthsCountCharactersNotBytes) {
  EXPECT_EQ(displayWidth("3f2a…"), 5u);
  Table t({"V", "X"});
  t.addRow({"ab…", "1"});
  t.addRow({"abcd", "2"});
  EXPECT_EQ(t.render(),
            "V      X\n"
            "ab…    1\n"
            "abcd   2\n");
}

TEST(RemoractlTable, TruncateKeepsTheStartAndMarksTheCut) {
  EXPECT_EQ(truncateText("short", 10), "short");
  EXPECT_EQ(truncateText("exactly10!", 10), "exactly10!");
  EXPECT_EQ(truncateText("catalog.shop.svc.cluster.local", 12), "catalog.s...");
  EXPECT_EQ(displayWidth(truncateText("catalog.shop.svc.cluster.local", 12)), 12u);
  EXPECT_EQ(truncateText("ééééé", 4), "é...");  // never splits a UTF-8 sequence
  EXPECT_EQ(truncateText("abcdef", 3), "abc");  // too narrow for "...": a plain cut
  EXPECT_EQ(truncateText("abcdef", 0), "");
}

TEST(RemoractlFormat, AgeUsesTheLargestWholeUnit) {
  EXPECT_EQ(formatAge(0), "0s");
  EXPECT_EQ(formatAge(5), "5s");
  EXPECT_EQ(formatAge(59), "59s");
  EXPECT_EQ(formatAge(60), "1m");
  EXPECT_EQ(formatAge(3 * 60 + 59), "3m");
  EXPECT_EQ(formatAge(3599), "59m");
  EXPECT_EQ(formatAge(3600), "1h");
  EXPECT_EQ(formatAge(2 * 3600 + 1800), "2h");
  EXPECT_EQ(formatAge(86399), "23h");
  EXPECT_EQ(formatAge(86400), "1d");
  EXPECT_EQ(formatAge(12 * 86400 + 5), "12d");
}

TEST(RemoractlFormat, VersionsPercentagesLatenciesAndRates) {
  EXPECT_EQ(shortVersion("3f2a9c01deadbeef"), "3f2a9c01");
  EXPECT_EQ(shortVersion("v1"), "v1");
  EXPECT_EQ(shortVersion(""), "");
  EXPECT_EQ(formatPercent(std::nullopt), "-");
  EXPECT_EQ(formatPercent(1.0), "100.0%");
  EXPECT_EQ(formatPercent(0.9975), "99.8%");
  EXPECT_EQ(formatPercent(0.0), "0.0%");
  EXPECT_EQ(formatMs(std::nullopt), "-");
  EXPECT_EQ(formatMs(0.25), "0.25ms");
  EXPECT_EQ(formatMs(12.54), "12.5ms");
  EXPECT_EQ(formatMs(250.4), "250ms");
  EXPECT_EQ(formatRate(12.345), "12.3");
  EXPECT_EQ(formatRate(0), "0.0");
}

TEST(RemoractlFormat, GrpcStatusNamesAreGrpcsOwn) {
  EXPECT_EQ(grpcStatusName(0), "OK");
  EXPECT_EQ(grpcStatusName(4), "DEADLINE_EXCEEDED");
  EXPECT_EQ(grpcStatusName(5), "NOT_FOUND");
  EXPECT_EQ(grpcStatusName(14), "UNAVAILABLE");
  EXPECT_EQ(grpcStatusName(16), "UNAUTHENTICATED");
  EXPECT_EQ(grpcStatusName(17), "");
  EXPECT_EQ(grpcStatusName(4294967295u), "");
}

}  // namespace
}  // namespace remora::control::cli
