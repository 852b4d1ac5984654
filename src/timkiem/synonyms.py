"""Synonyms: abbreviations and other names of the same thing, as groups of forms.

A group is one line of forms that mean the same, separated by ``=``::

    # comments start with '#'; blank lines are skipped
    UBND = Ủy ban nhân dân
    TP.HCM = TPHCM = Thành phố Hồ Chí Minh

A form is what the analyzer makes of it: its syllables, case, accents and
punctuation aside ("TP.HCM" and "TP HCM" are one form). The built-in groups
(:data:`ABBREVIATIONS`, and the name variants of :mod:`timkiem.variants`)
come first; a staff file (setting ``synonyms_file``) adds its groups. A query
typing one form also searches the others (:mod:`timkiem.expansion`).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from timkiem.analysis import fold, syllables
from timkiem.errors import ConfigError
from timkiem.query import Word

MAX_FORM_SYLLABLES = 12

# Abbreviations of Vietnamese public-sector and news writing.
ABBREVIATIONS = """
UBND = Ủy ban nhân dân
HĐND = Hội đồng nhân dân
TP.HCM = TPHCM = Thành phố Hồ Chí Minh = TP Hồ Chí Minh
TP = Thành phố
CNVCLĐ = công nhân viên chức lao động
CNVC = công nhân viên chức
CNLĐ = công nhân lao động
NLĐ = người lao động
LĐLĐ = Liên đoàn Lao động
TLĐ = Tổng Liên đoàn
TLĐLĐVN = Tổng Liên đoàn Lao động Việt Nam
CĐCS = công đoàn cơ sở
ĐVCĐ = đoàn viên công đoàn
HĐLĐ = hợp đồng lao động
TƯLĐTT = thỏa ước lao động tập thể
ATVSLĐ = an toàn vệ sinh lao động
TNLĐ = tai nạn lao động
BHXH = bảo hiểm xã hội
BHYT = bảo hiểm y tế
BHTN = bảo hiểm thất nghiệp
CSGT = cảnh sát giao thông
CSCĐ = cảnh sát cơ động
ATGT = an toàn giao thông
TNGT = tai nạn giao thông
GPLX = giấy phép lái xe
PCCC = phòng cháy chữa cháy
CNCH = cứu nạn cứu hộ
THPT = trung học phổ thông
THCS = trung học cơ sở
SGK = sách giáo khoa
HSSV = học sinh sinh viên
ĐHQG = Đại học Quốc gia
ĐBSCL = đồng bằng sông Cửu Long
ĐBSH = đồng bằng sông Hồng
MTTQ = Mặt trận Tổ quốc
MTTQVN = Mặt trận Tổ quốc Việt Nam
UBMTTQ = Ủy ban Mặt trận Tổ quốc
ĐCSVN = Đảng Cộng sản Việt Nam
BCH = ban chấp hành
BTV = ban thường vụ
BBT = Ban Bí thư
UBKT = Ủy ban Kiểm tra
ĐBQH = đại biểu Quốc hội
UBTVQH = Ủy ban Thường vụ Quốc hội
ĐVTN = đoàn viên thanh niên
ĐTN = Đoàn Thanh niên
TNCS = thanh niên cộng sản
TNXP = thanh niên xung phong
HLHPN = Hội Liên hiệp Phụ nữ
LHPN = Liên hiệp Phụ nữ
HND = Hội Nông dân
CCB = cựu chiến binh
KCN = khu công nghiệp
KKT = khu kinh tế
HTX = hợp tác xã
DNNN = doanh nghiệp nhà nước
HĐQT = hội đồng quản trị
ĐHĐCĐ = đại hội đồng cổ đông
NHNN = Ngân hàng Nhà nước
KBNN = Kho bạc Nhà nước
QLTT = quản lý thị trường
BĐS = bất động sản
GPMB = giải phóng mặt bằng
QSDĐ = quyền sử dụng đất
ĐKKD = đăng ký kinh doanh
NTM = nông thôn mới
BVTV = bảo vệ thực vật
GD&ĐT = GDĐT = giáo dục và đào tạo
BGD&ĐT = BGDĐT = Bộ Giáo dục và Đào tạo
LĐ-TB&XH = LĐTBXH = Lao động Thương binh và Xã hội
NN&PTNT = NNPTNT = Nông nghiệp và Phát triển nông thôn
TN&MT = TNMT = Tài nguyên và Môi trường
KH&CN = KHCN = khoa học và công nghệ
KH&ĐT = KHĐT = Kế hoạch và Đầu tư
VH-TT&DL = VHTTDL = Văn hóa Thể thao và Du lịch
TT&TT = TTTT = Thông tin và Truyền thông
GTVT = giao thông vận tải
CNTT = công nghệ thông tin
KT-XH = KTXH = kinh tế xã hội
KHXH = khoa học xã hội
ANTT = an ninh trật tự
ATTP = an toàn thực phẩm
VSATTP = vệ sinh an toàn thực phẩm
TTYT = trung tâm y tế
BVĐK = bệnh viện đa khoa
QĐND = Quân đội nhân dân
CAND = Công an nhân dân
LLVT = lực lượng vũ trang
BĐBP = Bộ đội Biên phòng
VKSND = Viện kiểm sát nhân dân
TAND = Tòa án nhân dân
THADS = thi hành án dân sự
VPHC = vi phạm hành chính
CMND = chứng minh nhân dân
CCCD = căn cước công dân
CBCCVC = cán bộ công chức viên chức
CCVC = công chức viên chức
TTXVN = Thông tấn xã Việt Nam
VN = Việt Nam
"""


@dataclass(frozen=True)
class Form:
    """One form of a group: its canonical (accented) syllables and folded ones."""

    accented: tuple[str, ...]
    folded: tuple[str, ...]

    @property
    def words(self) -> list[Word]:
        return [Word(a, f) for a, f in zip(self.accented, self.folded)]


def make_form(text: str) -> Form:
    """The form of ``text`` ("TP.HCM" -> tp hcm)."""
    accented = tuple(syllables(text))
    return Form(accented, tuple(fold(s) for s in accented))


def parse_groups(text: str, source: str) -> list[list[Form]]:
    """The groups of a synonyms text; a bad line raises ``ConfigError`` naming
    ``source:LINE``, what is wrong and what to write instead."""
    groups: list[list[Form]] = []
    for number, line in enumerate(text.splitlines(), 1):
        line = line.split("#", 1)[0].strip()
        if not line:
            continue
        where = f"{source}:{number}"
        parts = line.split("=")
        if len(parts) < 2:
            raise ConfigError(
                f"{where}: {line!r} has no '='; write a group as FORM = FORM [= FORM...], "
                "for example 'UBND = Ủy ban nhân dân'"
            )
        forms: list[Form] = []
        for part in parts:
            form = make_form(part)
            if not form.accented:
                raise ConfigError(
                    f"{where}: an empty form in {line!r}; each side of '=' needs a word"
                )
            if len(form.accented) > MAX_FORM_SYLLABLES:
                raise ConfigError(
                    f"{where}: {part.strip()!r} has {len(form.accented)} words; "
                    f"a form has at most {MAX_FORM_SYLLABLES}"
                )
            if form not in forms:
                forms.append(form)
        if len(forms) < 2:
            raise ConfigError(f"{where}: {line!r} names one form only; a group needs two")
        groups.append(forms)
    return groups


def read_groups(path: str) -> list[list[Form]]:
    """The groups of the synonyms file ``path``; errors name the file (and line)."""
    try:
        text = Path(path).read_bytes().decode("utf-8-sig")
    except OSError as exc:
        raise ConfigError(
            f"{path}: cannot read the synonyms file ({exc.strerror}); "
            "fix the path in the synonyms_file setting"
        ) from None
    except UnicodeDecodeError as exc:
        raise ConfigError(
            f"{path}: not UTF-8 (byte {exc.start}); save the synonyms file as UTF-8"
        ) from None
    return parse_groups(text, path)


@dataclass
class Synonyms:
    """Groups of forms, looked up by their first folded syllable."""

    groups: list[list[Form]] = field(default_factory=list)
    source: str | None = None  # the staff file, if any
    _others: dict[Form, list[Form]] = field(default_factory=dict, repr=False)
    _by_first: dict[str, list[Form]] = field(default_factory=dict, repr=False)

    def __post_init__(self) -> None:
        for group in self.groups:
            for form in group:
                others = self._others.setdefault(form, [])
                others.extend(o for o in group if o != form and o not in others)
        for form in self._others:
            self._by_first.setdefault(form.folded[0], []).append(form)
        for forms in self._by_first.values():
            forms.sort(key=lambda form: -len(form.folded))  # the longest first

    def forms_at(self, words: list[Word], start: int) -> tuple[int, list[Form]]:
        """The longest form that ``words`` spell from ``start`` (its length, 0 if
        none) and the other forms of its groups.

        Typed with accents, the span must have a form's accents (canonical);
        typed without, its folded syllables.
        """
        for form in self._by_first.get(words[start].folded, []):
            size = len(form.folded)
            if start + size > len(words) or (
                size > 1 and words[start + 1].folded != form.folded[1]
            ):
                continue
            span = words[start : start + size]
            if tuple(w.folded for w in span) != form.folded:
                continue
            if any(w.has_accents for w in span) and (
                tuple(w.accented for w in span) != form.accented
            ):
                continue
            return len(span), self._others[form]
        return 0, []


def load_synonyms(path: str | None, builtin: Iterable[str] = ()) -> Synonyms:
    """The built-in groups (``builtin`` texts), then those of the file ``path``."""
    groups: list[list[Form]] = []
    for number, text in enumerate(builtin):
        groups.extend(parse_groups(text, f"<built-in list {number}>"))
    if path:
        groups.extend(read_groups(path))
    return Synonyms(groups, path or None)
