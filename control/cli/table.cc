#include "control/cli/table.h"

#include <algorithm>
#include <utility>

namespace remora::control::cli {

namespace {

bool isContinuation(char c) {
  return (static_cast<unsigned char>(c) & 0xC0) == 0x80;
}

std::string oneLine(std::string cell) {
  std::replace_if(
      cell.begin(), cell.end(), [](char c) { return c == '\n' || c == '\r' || c == '\t'; }, ' ');
  return cell;
}

constexpr size_t kGap = 3;

}  // namespace

size_t displayWidth(std::string_view text) noexcept {
  size_t width = 0;
  for (char c : text) {
    if (!isContinuation(c)) {
      ++width;
    }
  }
  return width;
}

std::string truncateText(std::string_view text, size_t max_width) {
  if (displayWidth(text) <= max_width) {
    return std::string(text);
  }
  const size_t keep = max_width < 4 ? max_width : max_width - 3;
  size_t points = 0;
  size_t end = 0;
  while (end < text.size()) {
    if (!isContinuation(text[end])) {
      if (points == keep) {
        break;
      }
      ++points;
    }
    ++end;
  }
  std::string out(text.substr(0, end));
  if (max_width >= 4) {
    out += "...";
  }
  return out;
}

Table::Table(std::vector<std::string> headers)
    : headers_(std::move(headers)), align_(headers_.size(), Align::kLeft) {}

void Table::setAlign(size_t column, Align align) {
  if (column < align_.size()) {
    align_[column] = align;
  }
}

void Table::addRow(std::vector<std::string> cells) {
  cells.resize(headers_.size());
  for (std::string& cell : cells) {
    cell = oneLine(std::move(cell));
  }
  rows_.push_back(std::move(cells));
}

std::string Table::render() const {
  std::vector<size_t> widths(headers_.size());
  for (size_t c = 0; c < headers_.size(); ++c) {
    widths[c] = displayWidth(headers_[c]);
    for (const auto& row : rows_) {
      widths[c] = std::max(widths[c], displayWidth(row[c]));
    }
  }
  std::string out;
  auto line = [&](const std::vector<std::string>& cells) {
    std::string text;
    for (size_t c = 0; c < cells.size(); ++c) {
      const size_t pad = widths[c] - displayWidth(cells[c]);
      const bool last = c + 1 == cells.size();
      if (align_[c] == Align::kRight) {
        text.append(pad, ' ');
        text += cells[c];
      } else {
        text += cells[c];
        if (!last) {
          text.append(pad, ' ');
        }
      }
      if (!last) {
        text.append(kGap, ' ');
      }
    }
    // A left-aligned column followed only by empty cells would leave spaces at the end.
    while (!text.empty() && text.back() == ' ') {
      text.pop_back();
    }
    out += text;
    out += '\n';
  };
  line(headers_);
  for (const auto& row : rows_) {
    line(row);
  }
  return out;
}

}  // namespace remora::control::cli
