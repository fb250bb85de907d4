#pragma once
// Table: plain-text tables for remoractl, the way kubectl and istioctl print them: a header row
// of upper-case names, one row per item, columns padded with spaces to the widest cell plus a
// gap of three spaces. No borders, no trailing spaces, one '\n' after every row.

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace remora::control::cli {

class Table {
 public:
  enum class Align { kLeft, kRight };

  // The header row; its size fixes the number of columns. Every column is left-aligned until
  // setAlign() says otherwise.
  explicit Table(std::vector<std::string> headers);

  // Right-aligns (numbers) or left-aligns column `column`; out-of-range columns are ignored.
  void setAlign(size_t column, Align align);

  // Appends a row. A shorter row is filled with empty cells, a longer one is cut to the header's
  // width. A cell's '\n' and '\t' are shown as spaces so every row stays one line.
  void addRow(std::vector<std::string> cells);

  size_t rowCount() const noexcept { return rows_.size(); }

  // The header and every row. Widths count UTF-8 code points, so "…" takes one column. The last
  // column is never padded (a left-aligned last column has no trailing spaces).
  std::string render() const;

 private:
  std::vector<std::string> headers_;
  std::vector<Align> align_;
  std::vector<std::vector<std::string>> rows_;
};

// Columns `text` takes in a terminal: its UTF-8 code points (continuation bytes not counted).
size_t displayWidth(std::string_view text) noexcept;

// `text` when it fits in `max_width` columns, else its start plus "..." so that the whole is
// exactly `max_width` columns (max_width < 4: the first max_width characters). Cuts never split
// a UTF-8 sequence.
std::string truncateText(std::string_view text, size_t max_width);

}  // namespace remora::control::cli
