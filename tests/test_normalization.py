import pytest

from synthesis.text import normalize


@pytest.mark.parametrize("text, expected", [
    ("$1,250.50", "one thousand two hundred fifty dollars and fifty cents"),
    ("3.5%", "three point five percent"),
    ("2025-03-05", "March fifth, twenty twenty-five"),
    ("10:30", "ten thirty"),
    ("7:05 pm", "seven oh five P M"),
    ("9:00", "nine o'clock"),
    ("5km", "five kilometers"),
    ("1 kg", "one kilogram"),
    ("-7 degrees", "minus seven degrees"),
    ("-3°C", "minus three degrees Celsius"),
    ("Call 555-123-4567", "Call five five five, one two three, four five six seven"),
    ("Dr. Smith", "Doctor Smith"),
    ("the 3rd", "the third"),
    ("in 1999", "in nineteen ninety-nine"),
    ("pages 10-20", "pages ten to twenty"),
    ("€5 million", "five million euros"),
    ("Tom & Jerry", "Tom and Jerry"),
    ("3.14", "three point one four"),
])
def test_it_spells_out_english(text, expected):
    assert normalize(text) == expected


@pytest.mark.parametrize("text, expected", [
    ("2025年3月5日", "二零二五年三月五日"),
    ("增长3.5%", "增长百分之三点五"),
    ("价格￥120", "价格一百二十元"),
    ("第3章", "第三章"),
    ("时间10:30", "时间十点三十分"),
    ("电话13812345678", "电话幺三八幺二三四五六七八"),
    ("温度-5℃", "温度负五摄氏度"),
    ("距离12.5km", "距离十二点五公里"),
    ("共1,250元", "共一千二百五十元"),
    ("日期2025-03-05", "日期二零二五年三月五日"),
    ("3-5天", "三到五天"),
])
def test_it_spells_out_mandarin(text, expected):
    assert normalize(text) == expected


def test_it_normalizes_each_sentence_in_its_own_language():
    assert normalize("It is 5km. 距离5km。") == "It is five kilometers. 距离五公里。"


def test_it_leaves_plain_words_alone():
    assert normalize("Hello, world!") == "Hello, world!"
