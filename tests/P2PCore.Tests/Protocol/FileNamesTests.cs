using P2PTransfer.Common;
using P2PTransfer.Protocol;
using P2PTransfer.Tests.Support;

namespace P2PTransfer.Tests.Protocol;

/// <summary>
/// The file name rule of docs/protocol.md section 13: no character that is not shown as itself (Unicode categories
/// Cf, Cc, Zl, Zp, and lone surrogates). A server does not announce such a name; a downloader does not write it.
/// </summary>
public sealed class FileNamesTests : IAsyncLifetime
{
    private readonly TestShare _share = new();

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync() => await _share.DisposeAsync();

    [Theory]
    [InlineData("\u202Egnp.exe", 0x202E)] // right-to-left override: shows as "exe.png"
    [InlineData("a\u202Ab", 0x202A)]
    [InlineData("a\u202Bb", 0x202B)]
    [InlineData("a\u202Cb", 0x202C)]
    [InlineData("a\u202Db", 0x202D)]
    [InlineData("a\u2066b", 0x2066)]
    [InlineData("a\u2067b", 0x2067)]
    [InlineData("a\u2068b", 0x2068)]
    [InlineData("a\u2069b", 0x2069)]
    [InlineData("a\u200Eb", 0x200E)]
    [InlineData("a\u200Fb", 0x200F)]
    [InlineData("a\u061Cb", 0x061C)]
    [InlineData("invoice\u200B.pdf", 0x200B)]
    [InlineData("a\u200Cb", 0x200C)]
    [InlineData("a\u200Db", 0x200D)]
    [InlineData("a\u2060b", 0x2060)]
    [InlineData("\uFEFFreadme.txt", 0xFEFF)]
    [InlineData("soft\u00ADhyphen", 0x00AD)]
    [InlineData("line\u2028break", 0x2028)]
    [InlineData("para\u2029break", 0x2029)]
    [InlineData("bell\u0007", 0x0007)]
    [InlineData("del\u007F", 0x007F)]
    [InlineData("c1\u0085", 0x0085)]
    [InlineData("tag\U000E0041", 0xDB40)] // a format character beyond the first plane (TAG LATIN CAPITAL LETTER A)
    public void A_name_with_a_bidi_control_an_invisible_or_a_control_character_is_refused_naming_the_code_point(string name, int codePoint)
    {
        Assert.False(FileNames.IsShownAsItIs(name));
        Assert.Contains($"U+{codePoint:X4}", FileNames.WhyRefused(name));
        Assert.True(FileNames.IsShownAsItIs(Text.Escape(name)), "an error message shows the name escaped");
    }

    [Fact]
    public void A_name_with_a_lone_surrogate_is_refused_as_not_a_character()
    {
        // Built in code: a lone surrogate does not survive a test case's serialization.
        foreach (var name in new[] { "lone" + (char)0xD800, "lone" + (char)0xDC00 + "low", (char)0xD800 + "x" })
        {
            Assert.False(FileNames.IsShownAsItIs(name));
            Assert.Contains("lone surrogate", FileNames.WhyRefused(name));
            Assert.True(FileNames.IsShownAsItIs(Text.Escape(name)));
        }
    }

    [Theory]
    [InlineData("report.pdf")]
    [InlineData("résumé 2026.docx")]
    [InlineData("日本語のファイル.txt")]
    [InlineData("مرحبا.txt")] // right-to-left letters are letters: only the controls that reorder text are refused
    [InlineData("שלום.pdf")]
    [InlineData("👍.png")] // a surrogate pair
    [InlineData("❤️.txt")] // a variation selector (Mn) is shown as part of its character
    [InlineData("e\u0301.txt")] // a combining accent
    [InlineData("a\u00A0b.txt")] // a no-break space is a space (Zs), as a space is
    public void A_name_of_letters_marks_symbols_and_spaces_of_any_script_is_allowed(string name)
    {
        Assert.True(FileNames.IsShownAsItIs(name));
        Assert.Null(FileNames.WhyRefused(name));
        Assert.Equal(name, Text.Escape(name));
    }

    [Fact]
    public void Escape_writes_every_refused_character_as_its_code_so_a_message_shows_the_name_as_it_came()
    {
        Assert.Equal("\\u202egnp.exe", Text.Escape("\u202Egnp.exe"));
        Assert.Equal("a\\u200bb \\udb40\\udc41 👍", Text.Escape("a\u200Bb \U000E0041 👍"));
    }

    [Fact]
    public void A_downloader_refuses_a_result_name_with_a_right_to_left_override_saying_which_character_and_showing_the_name_escaped()
    {
        var error = Assert.Throws<ArgumentException>(() => P2PTransfer.Transfer.DownloadBatch.SafeFileName("\u202Egnp.exe", new string('A', 64)));

        Assert.Contains("'\\u202egnp.exe' is not a safe file name", error.Message);
        Assert.Contains("U+202E", error.Message);
        Assert.True(FileNames.IsShownAsItIs(error.Message));
    }

    [Fact]
    public async Task An_index_does_not_share_a_file_or_folder_whose_name_is_refused_and_logs_a_warning_for_each()
    {
        _share.Write("ok.txt", "plain");
        _share.Write("\u202Egnp.exe", "looks like a picture");
        _share.Write("zero\u200Bwidth.txt", "invisible character");
        _share.Write("dir\u2066/inner.txt", "below a folder whose name is refused");
        _share.Write("fine/also-ok.txt", "plain too");
        var index = await _share.OpenAsync();

        Assert.Equal(["pub/fine/also-ok.txt", "pub/ok.txt"], index.GetFiles().Select(f => f.RelativePath).Order(StringComparer.Ordinal));
        var warnings = _share.Log.Recent().Where(e => e.Level == NodeLogLevel.Warning && e.Message.StartsWith("not sharing", StringComparison.Ordinal)).Select(e => e.Message).ToList();
        Assert.Equal(3, warnings.Count);
        Assert.Contains(warnings, w => w.Contains("\\u202egnp.exe") && w.Contains("U+202E"));
        Assert.Contains(warnings, w => w.Contains("zero\\u200bwidth.txt") && w.Contains("U+200B"));
        Assert.Contains(warnings, w => w.Contains("dir\\u2066") && w.Contains("U+2066"));
        Assert.All(warnings, w => Assert.True(FileNames.IsShownAsItIs(w), w));
    }

    [Fact]
    public async Task A_file_given_a_refused_name_while_shared_stops_being_shared()
    {
        var path = _share.Write("photo.png", "a picture");
        var index = await _share.OpenAsync();
        Assert.Equal(["pub/photo.png"], index.GetFiles().Select(f => f.RelativePath));

        File.Move(path, Path.Combine(_share.Folder, "\u202Egnp.exe"));
        await _share.SettleAsync(index);

        Assert.Equal(["pub/marker.txt"], index.GetFiles().Select(f => f.RelativePath));
    }
}
