# perl_prog.pl: hashes, arrays, regexes, sorting and string building, with
# deterministic output, for perl.sh.
use strict;
use warnings;

my %h;
for my $i (0 .. 199_999) {
    $h{"key$i"} = [ $i, "v" x ($i % 13), { sq => $i * $i } ];
}
delete $h{"key$_"} for grep { $_ % 3 == 0 } 0 .. 199_999;
my $sum = 0;
$sum += $h{$_}[0] for keys %h;
printf "hash %d %d\n", scalar(keys %h), $sum;

my @a = map { ($_ * 2654435761) % 1_000_003 } 1 .. 300_000;
my @s = sort { $a <=> $b } @a;
splice(@s, 1000, 50_000);
printf "array %d %d %d %d\n", scalar(@s), $s[0], $s[-1], $s[12_345];

my $text = join "\n", map { sprintf "line %06d: %s=%x;", $_, "w" x ($_ % 7), $_ * 31 } 1 .. 100_000;
my $count = () = $text =~ /^line \d+5: (w+)=/mg;
my %words;
$words{$1}++ while $text =~ /(w{3,}|=[0-9a-f]{4}\b)/g;
(my $copy = $text) =~ s/(\d+): (w*)=/$2:$1=/g;
printf "regex %d %d %d %s\n", $count, scalar(keys %words), length($copy),
    join(",", map { "$_:$words{$_}" } (sort keys %words)[0 .. 4]);

my @aoh;
for my $i (1 .. 50_000) {
    push @aoh, { id => $i, tags => [ map { "t$_" } 1 .. ($i % 5) ] };
    shift @aoh if @aoh > 10_000;
}
my $tags = 0;
$tags += @{ $_->{tags} } for @aoh;
printf "aoh %d %d\n", scalar(@aoh), $tags;

my $big = "";
$big .= chr(65 + $_ % 26) x 100 for 1 .. 20_000;
printf "string %d %s\n", length($big), substr($big, 123_456, 10);
exit 4;
